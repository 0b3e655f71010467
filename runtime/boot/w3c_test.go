package boot

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
)

func TestJaegerTracerSendsBothHeaders(t *testing.T) {
	var stderr bytes.Buffer
	tr := newTracing(mapEnv(map[string]string{envConsole: "0"}), testDeps(&stderr), nil)
	span := tr.tracer.StartSpan("op")
	defer span.Finish()
	h := http.Header{}
	if err := tr.tracer.Inject(span.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(h)); err != nil {
		t.Fatal(err)
	}
	sc := span.Context().(jaeger.SpanContext)
	want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
	if len(sc.TraceID().String()) != 32 || h.Get("traceparent") != want {
		t.Errorf("traceparent %q, want %q", h.Get("traceparent"), want)
	}
	if !regexp.MustCompile(`^[0-9a-f]+:[0-9a-f]+:0+:1$`).MatchString(h.Get("uber-trace-id")) {
		t.Errorf("uber-trace-id %q", h.Get("uber-trace-id"))
	}
}

func TestJaegerTracerAcceptsTraceparent(t *testing.T) {
	var stderr bytes.Buffer
	tr := newTracing(mapEnv(map[string]string{envConsole: "0"}), testDeps(&stderr), nil)
	for _, format := range []any{opentracing.HTTPHeaders, opentracing.TextMap} {
		carrier := opentracing.TextMapCarrier{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
		var c any = carrier
		if format == opentracing.HTTPHeaders {
			h := http.Header{}
			h.Set("traceparent", carrier["traceparent"])
			c = opentracing.HTTPHeadersCarrier(h)
		}
		parent, err := tr.tracer.Extract(format, c)
		if err != nil {
			t.Fatalf("%v: %v", format, err)
		}
		child := tr.tracer.StartSpan("child", opentracing.ChildOf(parent))
		sc := child.Context().(jaeger.SpanContext)
		if sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || sc.ParentID().String() != "00f067aa0ba902b7" || !sc.IsSampled() {
			t.Errorf("%v: child %v, parent %v, sampled %t", format, sc.TraceID(), sc.ParentID(), sc.IsSampled())
		}
		child.Finish()
	}
	// uber-trace-id wins when both are there.
	both := opentracing.TextMapCarrier{
		"traceparent":   "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"uber-trace-id": "abc:def:0:1",
	}
	parent, err := tr.tracer.Extract(opentracing.TextMap, both)
	if err != nil || parent.(jaeger.SpanContext).TraceID().String() != "0000000000000abc" {
		t.Errorf("with both headers: %v, %v", parent, err)
	}
	for _, bad := range []string{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",       // no flags
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xx", // extra field in version 00
	} {
		if _, err := tr.tracer.Extract(opentracing.TextMap, opentracing.TextMapCarrier{"traceparent": bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := tr.tracer.Extract(opentracing.TextMap, opentracing.TextMapCarrier{}); err != opentracing.ErrSpanContextNotFound {
		t.Errorf("no headers: %v", err)
	}
}

// TestTraceparentFormat checks the hand-written formatting against
// fmt's, on ids with every hex digit and with leading zeros.
func TestTraceparentFormat(t *testing.T) {
	for _, ids := range [][3]uint64{
		{0, 1, 1},
		{0x0123456789abcdef, 0xfedcba9876543210, 0x00000000000000ff},
		{^uint64(0), ^uint64(0), ^uint64(0)},
	} {
		for _, sampled := range []bool{false, true} {
			sc := jaeger.NewSpanContext(jaeger.TraceID{High: ids[0], Low: ids[1]}, jaeger.SpanID(ids[2]), 0, sampled, nil)
			flags := 0
			if sampled {
				flags = 1
			}
			want := fmt.Sprintf("00-%016x%016x-%016x-%02x", ids[0], ids[1], ids[2], flags)
			if got := traceparent(sc); got != want {
				t.Errorf("traceparent = %q, want %q", got, want)
			}
			if allocs := testing.AllocsPerRun(100, func() { traceparent(sc) }); allocs > 1 {
				t.Errorf("traceparent allocates %v times, want at most 1", allocs)
			}
		}
	}
}
