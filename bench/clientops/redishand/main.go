// Command redishand is redisplain traced by hand, as users do without the
// injector: a go-redis Hook that starts a client span per command (a child
// of the context's span, if any) with the command name, component,
// database and statement tags, flags errors other than redis.Nil, and
// finishes the span; on jaeger-client-go with a const sampler and a null
// reporter (an in-memory one under -check, to count spans).
package main

import (
	"context"
	"example.com/handtracer"
	"flag"
	"strings"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/redis/go-redis/v9"
	"github.com/uber/jaeger-client-go"

	"example.com/clientops/loop"
	"example.com/clientops/redisq"
)

type tracingHook struct{ tracer opentracing.Tracer }

func (h tracingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h tracingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		opts := []opentracing.StartSpanOption{ext.SpanKindRPCClient,
			opentracing.Tag{Key: "component", Value: "go-redis"}, opentracing.Tag{Key: "db.type", Value: "redis"}}
		if parent := opentracing.SpanFromContext(ctx); parent != nil {
			opts = append(opts, opentracing.ChildOf(parent.Context()))
		}
		statement := cmd.Name()
		if args := cmd.Args(); len(args) > 1 {
			if key, ok := args[1].(string); ok {
				statement += " " + key
			}
		}
		span := h.tracer.StartSpan(strings.ToUpper(cmd.Name()), opts...)
		span.SetTag("db.statement", statement)
		err := next(ctx, cmd)
		if err != nil && err != redis.Nil {
			ext.LogError(span, err)
		}
		span.Finish()
		return err
	}
}

func (h tracingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
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
			tracer, closer := handtracer.New("redishand", reporter)
			op, cleanup, err := redisq.Setup(ctx, tracingHook{tracer})
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
