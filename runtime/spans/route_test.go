package spans

import (
	"context"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
)

func TestSetRoute(t *testing.T) {
	tracer := mocktracer.New()
	server := tracer.StartSpan("HTTP GET").(*mocktracer.MockSpan)
	ctx := WithServerSpan(context.Background(), server, "GET")

	// A router below a ServeMux: the last call wins.
	SetRoute(ctx, "/")
	SetRoute(context.WithValue(ctx, testKey{}, "derived"), "/users/{id}")
	if got := server.OperationName; got != "GET /users/{id}" {
		t.Errorf("name = %q, want %q", got, "GET /users/{id}")
	}
	if got := server.Tag(HTTPRoute); got != "/users/{id}" {
		t.Errorf("http.route = %v, want /users/{id}", got)
	}

	// An empty route (no match) changes nothing.
	SetRoute(ctx, "")
	if got := server.OperationName; got != "GET /users/{id}" {
		t.Errorf("an empty route renamed the span to %q", got)
	}

	// A span of the program's own, even in the context of a request,
	// keeps its name.
	user := tracer.StartSpan("mine").(*mocktracer.MockSpan)
	SetRoute(opentracing.ContextWithSpan(context.Background(), user), "/users/{id}")
	if user.OperationName != "mine" || user.Tag(HTTPRoute) != nil {
		t.Errorf("a user span was renamed: %q, http.route=%v", user.OperationName, user.Tag(HTTPRoute))
	}
	var none context.Context
	SetRoute(none, "/x") // no panic, nothing to rename
}
