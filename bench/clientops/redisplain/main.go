// Command redisplain sends one GET after another to Redis with no tracing
// code: built plainly it is the untraced baseline, built with
// -toolexec=ottoolexec it is traced by the injector alone.
package main

import (
	"context"

	"example.com/clientops/loop"
	"example.com/clientops/redisq"
)

func main() {
	loop.Main(loop.Program{Setup: func(ctx context.Context) (loop.Op, func(), error) {
		return redisq.Setup(ctx)
	}})
}
