// Command sqlplain runs one query after another on PostgreSQL through
// database/sql and lib/pq, with no tracing code: built plainly it is the
// untraced baseline, built with -toolexec=ottoolexec it is traced by the
// injector alone.
package main

import (
	"context"

	_ "github.com/lib/pq"

	"example.com/clientops/loop"
	"example.com/clientops/sqlq"
)

func main() {
	loop.Main(loop.Program{Setup: func(ctx context.Context) (loop.Op, func(), error) {
		return sqlq.Setup(ctx, "postgres")
	}})
}
