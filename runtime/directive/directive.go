// Package directive is what functions marked //ottrace:span call: the
// injector splices a call to Start at the top of their body (see
// injector/directive). User code does not call it.
package directive

import (
	"context"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/log"

	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

// Start begins the span of a marked function: a child of the current span
// (of ctx, which may be nil, else of the goroutine), named name, with tags
// given as key, value pairs. With requireActive and no current span, no
// span is made. It returns ctx carrying the span (ctx itself when ctx is
// nil or no span was made) and the function the wrapped body defers,
// which ends the span, flagging it when *errp holds a non-nil error.
func Start(ctx context.Context, name string, requireActive bool, tags ...string) (ctxOut context.Context, end func(errp *error)) {
	defer func() {
		if r := recover(); r != nil {
			spans.Recovered("//ottrace:span", r)
			ctxOut, end = ctx, noEnd // the body runs untraced
		}
	}()
	if spans.Disabled() {
		return ctx, noEnd
	}
	parent := spans.Current(ctx)
	if parent == nil && requireActive {
		return ctx, noEnd
	}
	var opts []opentracing.StartSpanOption
	if parent != nil {
		opts = append(opts, opentracing.ChildOf(parent.Context()))
	}
	span := spans.Tracer().StartSpan(name, opts...)
	for i := 0; i+1 < len(tags); i += 2 {
		span.SetTag(tags[i], tags[i+1])
	}
	if ctx != nil {
		ctx = opentracing.ContextWithSpan(ctx, span)
	}
	restore := spans.SetGoroutineSpan(span)
	return ctx, func(errp *error) {
		defer spans.Guard("//ottrace:span")
		restore()
		if errp != nil && *errp != nil {
			spans.Error.Set(span, true)
			span.LogFields(log.String("event", "error"), log.String("message", (*errp).Error()))
		}
		span.Finish()
	}
}

func noEnd(*error) {}
