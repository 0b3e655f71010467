// Command amqphand is amqpplain traced by hand, as users do without the
// injector: a publish wrapper that starts a producer span (a child of the
// context's span, if any), copies the message headers and injects the
// trace context into the copy, publishes, and finishes the span; on
// jaeger-client-go with a const sampler and a null reporter (an in-memory
// one under -check, to count spans).
package main

import (
	"context"
	"example.com/handtracer"
	"flag"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/uber/jaeger-client-go"

	"example.com/clientops/amqpq"
	"example.com/clientops/loop"
)

// tableCarrier lets the tracer write into AMQP headers.
type tableCarrier amqp.Table

func (c tableCarrier) Set(key, val string) { c[key] = val }

func (c tableCarrier) ForeachKey(handler func(key, val string) error) error {
	for k, v := range c {
		if s, ok := v.(string); ok {
			if err := handler(k, s); err != nil {
				return err
			}
		}
	}
	return nil
}

func tracedPublish(tracer opentracing.Tracer) amqpq.Publish {
	return func(ctx context.Context, ch *amqp.Channel, exchange, key string, msg amqp.Publishing) error {
		opts := []opentracing.StartSpanOption{ext.SpanKindProducer, opentracing.Tag{Key: "component", Value: "amqp091-go"},
			opentracing.Tag{Key: "message_bus.destination", Value: key}}
		if parent := opentracing.SpanFromContext(ctx); parent != nil {
			opts = append(opts, opentracing.ChildOf(parent.Context()))
		}
		span := tracer.StartSpan("amqp.publish "+key, opts...)
		headers := make(amqp.Table, len(msg.Headers)+1)
		for k, v := range msg.Headers {
			headers[k] = v
		}
		tracer.Inject(span.Context(), opentracing.TextMap, tableCarrier(headers))
		msg.Headers = headers
		err := ch.PublishWithContext(ctx, exchange, key, false, false, msg)
		if err != nil {
			ext.LogError(span, err)
		}
		span.Finish()
		return err
	}
}

func main() {
	check := flag.Bool("check", false, "count finished spans with an in-memory reporter")
	var counted *jaeger.InMemoryReporter
	loop.Main(loop.Program{
		Setup: func(ctx context.Context) (loop.Op, func(), error) {
			var reporter jaeger.Reporter = jaeger.NewNullReporter()
			if *check {
				counted = jaeger.NewInMemoryReporter()
				reporter = counted
			}
			tracer, closer := handtracer.New("amqphand", reporter)
			op, cleanup, err := amqpq.Setup(ctx, tracedPublish(tracer))
			if err != nil {
				closer.Close()
				return nil, nil, err
			}
			return op, func() { cleanup(); closer.Close() }, nil
		},
		Spans: func() int {
			if counted == nil {
				return -1
			}
			return counted.SpansSubmitted()
		},
	})
}
