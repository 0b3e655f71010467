package spans

import (
	"context"

	"github.com/opentracing/opentracing-go"
)

// A server span starts before any router has looked at the request, so it
// is named "HTTP GET". Whatever routes the request later (net/http's
// ServeMux, or a router such as chi, gin, echo or gorilla/mux, each through
// its own rule) knows the route template and renames the span with
// SetRoute. Only a span marked with WithServerSpan can be renamed that
// way: a span the program started itself keeps the name it was given.

type serverSpan struct {
	span   opentracing.Span
	method string
}

type serverSpanKey struct{}

// WithServerSpan returns a copy of ctx that marks span as the server span
// of a request with the given method, for SetRoute to find.
func WithServerSpan(ctx context.Context, span opentracing.Span, method string) context.Context {
	return context.WithValue(ctx, serverSpanKey{}, &serverSpan{span, method})
}

// SetRoute names the server span of the request whose context is ctx after
// the route template that matched it: "GET /users/{id}", with the template
// in the http.route tag. The last call wins, so a router mounted below
// another one (or below a ServeMux) names the span after the full route.
// Without a server span in ctx, or with an empty route, it does nothing.
func SetRoute(ctx context.Context, route string) {
	defer Guard("HTTP route")
	if ctx == nil || route == "" {
		return
	}
	s, _ := ctx.Value(serverSpanKey{}).(*serverSpan)
	if s == nil {
		return
	}
	s.span.SetOperationName(s.method + " " + route)
	s.span.SetTag(HTTPRoute, route)
}
