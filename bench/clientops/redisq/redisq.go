// Package redisq is the command the Redis programs of bench/clientops
// time: one GET of a key of their own on the real Redis, through go-redis.
package redisq

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/redis/go-redis/v9"

	"example.com/clientops/loop"
)

// Setup connects (database 9), sets the key and returns the timed GET;
// hooks are added to the client before the first command.
func Setup(ctx context.Context, hooks ...redis.Hook) (loop.Op, func(), error) {
	db, err := strconv.Atoi(loop.Env("BENCH_REDIS_DB", "9"))
	if err != nil {
		return nil, nil, fmt.Errorf("BENCH_REDIS_DB: %w", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: loop.Env("BENCH_REDIS_ADDR", "127.0.0.1:6379"), DB: db, PoolSize: 1})
	for _, h := range hooks {
		rdb.AddHook(h)
	}
	key := fmt.Sprintf("ottoolexec-bench-%d", os.Getpid())
	if err := rdb.Set(ctx, key, "value", 0).Err(); err != nil {
		rdb.Close()
		return nil, nil, err
	}
	op := func(ctx context.Context, i int) error {
		return rdb.Get(ctx, key).Err()
	}
	cleanup := func() {
		rdb.Del(context.Background(), key)
		rdb.Close()
	}
	return op, cleanup, nil
}
