// Package sqlq is the query the SQL programs of bench/clientops time: one
// SELECT of one row on PostgreSQL through database/sql, its row scanned.
package sqlq

import (
	"context"
	"database/sql"

	"example.com/clientops/loop"
)

// Setup opens the database with driverName and returns the timed query.
func Setup(ctx context.Context, driverName string) (loop.Op, func(), error) {
	db, err := sql.Open(driverName, loop.Env("BENCH_PG_DSN", "postgres://root@127.0.0.1:5432/test?sslmode=disable"))
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxIdleConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	op := func(ctx context.Context, i int) error {
		var got int
		return db.QueryRowContext(ctx, "SELECT $1::int + 1", i).Scan(&got)
	}
	return op, func() { db.Close() }, nil
}
