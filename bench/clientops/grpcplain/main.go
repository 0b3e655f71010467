// Command grpcplain makes one unary health Check after another against a
// server in the same program, with no tracing code: built plainly it is
// the untraced baseline, built with -toolexec=ottoolexec it is traced by
// the injector alone (a client and a server span per call).
package main

import (
	"context"

	"example.com/clientops/grpcq"
	"example.com/clientops/loop"
)

func main() {
	loop.Main(loop.Program{Setup: func(ctx context.Context) (loop.Op, func(), error) {
		return grpcq.Setup(ctx, nil)
	}})
}
