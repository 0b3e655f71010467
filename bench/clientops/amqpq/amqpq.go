// Package amqpq is the publish the RabbitMQ programs of bench/clientops
// time: one message with one header of the program's own to a queue of
// its own on the real RabbitMQ, through the default exchange.
package amqpq

import (
	"context"
	"fmt"
	"os"

	amqp "github.com/rabbitmq/amqp091-go"

	"example.com/clientops/loop"
)

// Publish sends msg; the hand-traced program wraps it.
type Publish func(ctx context.Context, ch *amqp.Channel, exchange, key string, msg amqp.Publishing) error

// Setup connects, declares the queue and returns the timed publish.
func Setup(ctx context.Context, publish Publish) (loop.Op, func(), error) {
	conn, err := amqp.Dial(loop.Env("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
	if err != nil {
		return nil, nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	queue := fmt.Sprintf("ottoolexec-bench-%d", os.Getpid())
	if _, err := ch.QueueDeclare(queue, false, true, false, false, nil); err != nil {
		conn.Close()
		return nil, nil, err
	}
	body := []byte("hello")
	op := func(ctx context.Context, i int) error {
		return publish(ctx, ch, "", queue, amqp.Publishing{
			Headers: amqp.Table{"x-app": "bench"},
			Body:    body,
		})
	}
	cleanup := func() {
		ch.QueueDelete(queue, false, false, false)
		conn.Close()
	}
	return op, cleanup, nil
}

// Plain is the publish without tracing.
func Plain(ctx context.Context, ch *amqp.Channel, exchange, key string, msg amqp.Publishing) error {
	return ch.PublishWithContext(ctx, exchange, key, false, false, msg)
}
