// Command amqpplain publishes one message after another to RabbitMQ with
// no tracing code: built plainly it is the untraced baseline, built with
// -toolexec=ottoolexec it is traced by the injector alone.
package main

import (
	"context"

	"example.com/clientops/amqpq"
	"example.com/clientops/loop"
)

func main() {
	loop.Main(loop.Program{Setup: func(ctx context.Context) (loop.Op, func(), error) {
		return amqpq.Setup(ctx, amqpq.Plain)
	}})
}
