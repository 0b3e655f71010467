// Package ottrace is the small API that user code may call in a program
// built with ottoolexec. Programs that never import it still get every
// automatic span; programs built without ottoolexec still compile and run
// with it, and then trace only what they start by hand.
//
// The current span is the one new spans become children of. A context
// that carries a span wins; without one, in a program built with
// ottoolexec, the goroutine's own current span answers: while a server
// span's handler runs, that is the server span, and goroutines the handler
// starts inherit it. So
//
//	func handler(w http.ResponseWriter, r *http.Request) {
//		go func() {
//			ottrace.CurrentSpan(nil) // the request's server span
//			http.Get(url)            // a child of it, with no context passed
//		}()
//	}
package ottrace

import (
	"context"
	"net/http"

	"github.com/opentracing/opentracing-go"

	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

// CurrentSpan returns the current span: the one the function given to
// SetCurrentSpanFunc finds, if any; else the span in ctx (ctx may be nil);
// else the current goroutine's. It returns nil when there is none.
func CurrentSpan(ctx context.Context) opentracing.Span {
	return spans.Current(ctx)
}

// ContextWithSpan returns a copy of ctx that carries span.
func ContextWithSpan(ctx context.Context, span opentracing.Span) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	return opentracing.ContextWithSpan(ctx, span)
}

// StartSpan starts a span named name on the global tracer, as a child of
// the current span (see CurrentSpan) unless opts name a parent, and
// returns it with a context that carries it. Finish the span when done.
func StartSpan(ctx context.Context, name string, opts ...opentracing.StartSpanOption) (opentracing.Span, context.Context) {
	if ctx == nil {
		ctx = context.Background()
	}
	if parent := spans.Current(ctx); parent != nil {
		opts = append([]opentracing.StartSpanOption{opentracing.ChildOf(parent.Context())}, opts...)
	}
	span := spans.Tracer().StartSpan(name, opts...)
	return span, opentracing.ContextWithSpan(ctx, span)
}

// WithGoroutineSpan makes span the current goroutine's current span until
// the returned function is called, for code that calls traced libraries
// without passing a context. Goroutines started meanwhile inherit it. In a
// program built without ottoolexec it does nothing.
func WithGoroutineSpan(span opentracing.Span) (restore func()) {
	return spans.SetGoroutineSpan(span)
}

// SetCurrentSpanFunc replaces how the current span is found, for programs
// that keep spans their own way: every automatic span then asks f for its
// parent first, and falls back to the default when f returns nil. A nil f
// restores the default.
func SetCurrentSpanFunc(f func(ctx context.Context) opentracing.Span) {
	spans.SetCurrentFn(f)
}

// SetResponseHook installs a function called with every HTTP client span
// and its response when the response arrives, before the span ends: the
// place to add tags from response headers. A nil hook removes it. A panic
// in the hook is recovered and reported once; the request goes on.
func SetResponseHook(hook func(span opentracing.Span, resp *http.Response)) {
	if hook == nil {
		spans.SetResponseHook(nil)
		return
	}
	spans.SetResponseHook(hook)
}
