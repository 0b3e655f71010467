package spans

import (
	"context"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
)

type testKey struct{}

func TestCoveredSpan(t *testing.T) {
	if spanKey == nil {
		t.Fatal("opentracing-go's span key was not learnt")
	}
	span := mocktracer.New().StartSpan("q")
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), testKey{}, "v"))
	ctx := CoveredSpan(parent, "database/sql", span)
	if got := opentracing.SpanFromContext(ctx); got != span {
		t.Errorf("SpanFromContext = %v, want the covered span", got)
	}
	if !IsCovered(ctx, "database/sql") || IsCovered(ctx, "net/http") {
		t.Error("IsCovered does not tell the covering layer")
	}
	if IsCovered(parent, "database/sql") {
		t.Error("the parent is covered too")
	}
	if got := ctx.Value(testKey{}); got != "v" {
		t.Errorf("a parent's value = %v, want v", got)
	}
	// A context derived from it sees both, and the parent's cancellation.
	child, stop := context.WithCancel(ctx)
	defer stop()
	if opentracing.SpanFromContext(child) != span || !IsCovered(child, "database/sql") {
		t.Error("a derived context lost the span or the mark")
	}
	cancel()
	<-child.Done()
	// A new span on top replaces the covered one for SpanFromContext.
	other := mocktracer.New().StartSpan("other")
	if opentracing.SpanFromContext(opentracing.ContextWithSpan(ctx, other)) != other {
		t.Error("ContextWithSpan on top does not win")
	}
	if n := testing.AllocsPerRun(100, func() { _ = IsCovered(ctx, "database/sql") }); n != 0 {
		t.Errorf("IsCovered allocates %v times", n)
	}
}

// uncomparable is a span type that == would panic on.
type uncomparable struct {
	opentracing.Span
	tags map[string]any
}

func TestSameNeverPanics(t *testing.T) {
	a := uncomparable{tags: map[string]any{}}
	b := uncomparable{tags: map[string]any{}}
	if Same(a, b) {
		t.Error("uncomparable spans reported the same")
	}
	if !Same(nil, nil) || Same(a, nil) {
		t.Error("nil handling")
	}
}
