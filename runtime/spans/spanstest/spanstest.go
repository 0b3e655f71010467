// Package spanstest holds what the unit tests of the hooks' runtime halves
// share: a mock tracer installed as the global one, and a lookup of the
// one finished span of a name.
package spanstest

import (
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
)

// UseMock makes a new mock tracer the global tracer for the rest of the
// test and returns it.
func UseMock(t testing.TB) *mocktracer.MockTracer {
	t.Helper()
	tr := mocktracer.New()
	prev := opentracing.GlobalTracer()
	opentracing.SetGlobalTracer(tr)
	t.Cleanup(func() { opentracing.SetGlobalTracer(prev) })
	return tr
}

// Finished returns the finished span named op, failing unless there is
// exactly one.
func Finished(t testing.TB, tr *mocktracer.MockTracer, op string) *mocktracer.MockSpan {
	t.Helper()
	var found []*mocktracer.MockSpan
	for _, s := range tr.FinishedSpans() {
		if s.OperationName == op {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d finished spans named %q, want 1 (all: %v)", len(found), op, tr.FinishedSpans())
	}
	return found[0]
}
