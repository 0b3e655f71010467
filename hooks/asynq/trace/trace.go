// Package trace is the runtime half of the asynq integration: the code
// ottoolexec splices into github.com/hibiken/asynq calls it with plain
// values (task type, queue, id, headers) and it makes the producer and
// consumer spans. It imports neither asynq nor go-redis. Traced main
// packages import it; user code never needs to.
package trace

import (
	"context"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/log"

	goredis "github.com/ottoolexec/ottoolexec/hooks/goredis/trace"
	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

const (
	component = "asynq"
	where     = "asynq"

	// Tags of both kinds of span.
	TagTaskID     = "asynq.task_id"
	TagRetryCount = "asynq.retry_count" // times the task was retried before this run
	TagMaxRetry   = "asynq.max_retry"
)

var (
	enabled = !spans.Disabled()
	// showRedis keeps asynq's own Redis commands visible as go-redis
	// spans (OTTOOLEXEC_ASYNQ_REDIS=1); by default they are covered: the
	// few an enqueue sends by its producer span, and the endless polling
	// of a Server or Scheduler by nothing at all.
	showRedis = spans.EnvFlag("OTTOOLEXEC_ASYNQ_REDIS")
)

// Enabled reports whether asynq is traced (not under OTTOOLEXEC_DISABLED).
func Enabled() bool { return enabled }

// CoverBackground marks the calling goroutine, and the goroutines it
// starts before restore is called (a Server's processor, heartbeater,
// forwarder..., a Scheduler's loop), so that the Redis commands asynq
// sends in them make no go-redis spans. Task handlers get a span of their
// own, so what they send is traced.
func CoverBackground() (restore func()) {
	if !enabled || showRedis {
		return func() {}
	}
	return spans.CoverGoroutine(goredis.Layer)
}

// StartProducer starts the producer span of an enqueue of a task of type
// taskType to queue (the queue the options name; the final one is given to
// the end function) and injects its context into headers, the copy of the
// task's headers that the enqueued task carries. It returns the context for
// the enqueue and the function that ends the span, or a nil span when
// nothing is traced.
func StartProducer(ctx context.Context, taskType, queue string, headers map[string]string) (context.Context, opentracing.Span) {
	defer spans.Guard(where)
	if !enabled {
		return ctx, nil
	}
	tracer := spans.Tracer()
	opts := []opentracing.StartSpanOption{opentracing.Tag{Key: string(spans.SpanKind), Value: "producer"}}
	if parent := spans.Current(ctx); parent != nil {
		opts = append(opts, opentracing.ChildOf(parent.Context()))
	}
	span := tracer.StartSpan(spanName(taskType), opts...)
	spans.Component.Set(span, component)
	if queue != "" {
		spans.MessageBusDest.Set(span, queue)
	}
	if err := tracer.Inject(span.Context(), opentracing.TextMap, opentracing.TextMapCarrier(headers)); err != nil {
		span.LogFields(log.String("event", "inject failed"), log.Error(err))
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if !showRedis {
		ctx = spans.Covered(ctx, goredis.Layer)
	}
	return opentracing.ContextWithSpan(ctx, span), span
}

// FinishProducer ends a producer span with what the enqueue returned: the
// task's id, queue and retry limit when it succeeded (maxRetry < 0 when
// unknown), its error when not.
func FinishProducer(span opentracing.Span, id, queue string, maxRetry int, err error) {
	if span == nil {
		return
	}
	defer spans.Guard(where)
	if id != "" {
		span.SetTag(TagTaskID, id)
	}
	if queue != "" {
		spans.MessageBusDest.Set(span, queue)
	}
	if maxRetry >= 0 {
		span.SetTag(TagMaxRetry, maxRetry)
	}
	fail(span, err)
	span.Finish()
}

// StartConsumer starts the consumer span in which a worker runs the
// handler of a task, continuing the trace whose context the task's headers
// carry (the span follows from the producer's). The span is in the
// returned context, and is the goroutine's current span until end is
// called with the handler's error.
func StartConsumer(ctx context.Context, taskType string, headers map[string]string, id, queue string, retried, maxRetry int) (context.Context, func(error)) {
	defer spans.Guard(where)
	if !enabled {
		return ctx, func(error) {}
	}
	tracer := spans.Tracer()
	opts := []opentracing.StartSpanOption{opentracing.Tag{Key: string(spans.SpanKind), Value: "consumer"}}
	// Missing or malformed headers start a new trace.
	if len(headers) > 0 {
		if producer, err := tracer.Extract(opentracing.TextMap, opentracing.TextMapCarrier(headers)); err == nil && producer != nil {
			opts = append(opts, opentracing.FollowsFrom(producer))
		}
	}
	span := tracer.StartSpan(spanName(taskType), opts...)
	spans.Component.Set(span, component)
	if queue != "" {
		spans.MessageBusDest.Set(span, queue)
	}
	if id != "" {
		span.SetTag(TagTaskID, id)
	}
	span.SetTag(TagRetryCount, retried)
	span.SetTag(TagMaxRetry, maxRetry)
	if ctx == nil {
		ctx = context.Background()
	}
	restore := spans.SetGoroutineSpan(span)
	return opentracing.ContextWithSpan(ctx, span), func(err error) {
		defer spans.Guard(where)
		restore()
		fail(span, err)
		span.Finish()
	}
}

func spanName(taskType string) string {
	if taskType == "" {
		return "asynq task"
	}
	return taskType
}

func fail(span opentracing.Span, err error) {
	if err == nil {
		return
	}
	spans.Error.Set(span, true)
	span.LogFields(log.String("event", "error"), log.String("message", err.Error()))
}
