package trace

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"

	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

// FuzzServerExtract sends the server hook requests whose trace headers
// are whatever the fuzzer makes of them: malformed, oversized or hostile
// uber-trace-id values and uberctx-* baggage. The hook must never panic
// (not even one it recovers itself), must always finish a server span,
// and must start a new trace unless the header is one the tracer accepts.
//
//	go test -fuzz=FuzzServerExtract ./hooks/nethttp/trace
//
// The corpus it found worth keeping is in testdata/fuzz.
func FuzzServerExtract(f *testing.F) {
	reporter := jaeger.NewInMemoryReporter()
	tracer, closer := jaeger.NewTracer("fuzz", jaeger.NewConstSampler(true), reporter, jaeger.TracerOptions.Gen128Bit(true))
	defer closer.Close()
	prev := opentracing.GlobalTracer()
	opentracing.SetGlobalTracer(tracer)
	defer opentracing.SetGlobalTracer(prev)

	for _, seed := range []struct{ traceID, baggageKey, baggageValue string }{
		{"", "", ""},
		{"4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1", "user", "alice"},
		{"4bf92f3577b34da6:00f067aa0ba902b7:0:1", "", ""},
		{"0:0:0:0", "", ""},
		{"ffffffffffffffffffffffffffffffffff:1:1:1", "", ""},
		{"a:b:c", "x", "%zz"},
		{"1:2:3:4:5", "k%20y", "v%"},
		{strings.Repeat("f", 70000), strings.Repeat("k", 300), strings.Repeat("v", 70000)},
		{"\x00\xff:\n:\r:1", "\x00", "\xff"},
		{"-1:-1:-1:-1", "", ""},
		{"4bf92f3577b34da6a3ce929d0e0e4736:0000000000000000:0:1", "", ""},
	} {
		f.Add(seed.traceID, seed.baggageKey, seed.baggageValue)
	}
	f.Fuzz(func(t *testing.T, traceID, baggageKey, baggageValue string) {
		reporter.Reset()
		panicsBefore := spans.Panics()
		req := httptest.NewRequest("GET", "/fuzz", nil)
		req.Header = http.Header{}
		if traceID != "" {
			req.Header["Uber-Trace-Id"] = []string{traceID}
		}
		if baggageKey != "" {
			req.Header["Uberctx-"+baggageKey] = []string{baggageValue}
		}
		// What the tracer itself makes of the header decides whether the
		// server span may continue a trace.
		parent, extractErr := tracer.Extract(opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(req.Header))

		ctx, end := startServer(req, httptest.NewRecorder())
		if ctx == nil || end == nil {
			t.Fatalf("no server span for headers %q", req.Header)
		}
		end(200, true)
		if n := spans.Panics() - panicsBefore; n != 0 {
			t.Fatalf("the server hook recovered %d panics for headers %q", n, req.Header)
		}
		continued := extractErr == nil && parent != nil && parent.(jaeger.SpanContext).IsValid()
		got := reporter.GetSpans()
		if continued && !parent.(jaeger.SpanContext).IsSampled() {
			// The caller decided not to sample this trace: the span is
			// not reported, and nothing more can be checked.
			if len(got) != 0 {
				t.Fatalf("%d spans reported for a trace the caller did not sample", len(got))
			}
			return
		}
		if len(got) != 1 {
			t.Fatalf("%d spans finished, want 1", len(got))
		}
		span := got[0].(*jaeger.Span)
		sc := span.SpanContext()
		if !sc.IsValid() {
			t.Fatalf("the server span has an invalid context: %v", sc)
		}
		switch {
		case continued && sc.TraceID() != parent.(jaeger.SpanContext).TraceID():
			t.Errorf("the span did not continue the caller's trace %v: %v", parent, sc)
		case !continued && sc.ParentID() != 0:
			t.Errorf("a header the tracer rejects (%v) gave the span a parent %v", extractErr, sc.ParentID())
		}
	})
}
