package export

import (
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	otlog "github.com/opentracing/opentracing-go/log"
	"github.com/uber/jaeger-client-go"
)

// newTracer returns a real jaeger tracer that samples everything and reports
// to r; extra options (an observer) may be added.
func newTracer(t *testing.T, service string, r jaeger.Reporter, opts ...jaeger.TracerOption) *jaeger.Tracer {
	t.Helper()
	opts = append([]jaeger.TracerOption{jaeger.TracerOptions.Gen128Bit(true)}, opts...)
	tr, closer := jaeger.NewTracer(service, jaeger.NewConstSampler(true), r, opts...)
	t.Cleanup(func() { _ = closer.Close() })
	return tr.(*jaeger.Tracer)
}

func TestSpanJSONFieldNames(t *testing.T) {
	s := Span{
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7",
		Operation: "GET /", Service: "web",
		Start:    time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 2*3600)),
		Duration: 1500 * time.Microsecond,
		Tags:     map[string]interface{}{"error": true, "http.status_code": 200, "http.url": "/a?b=1&c=2"},
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]interface{}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	want := map[string]interface{}{
		"trace_id":    "4bf92f3577b34da6a3ce929d0e0e4736",
		"span_id":     "00f067aa0ba902b7",
		"parent_id":   "",
		"operation":   "GET /",
		"service":     "web",
		"start":       "2024-05-01T10:00:00.123456789Z",
		"duration_us": float64(1500),
		"tags":        map[string]interface{}{"error": true, "http.status_code": float64(200), "http.url": "/a?b=1&c=2"},
		"logs":        []interface{}{},
	}
	if !reflect.DeepEqual(raw, want) {
		t.Errorf("JSON form\n got %s\nwant %v", b, want)
	}
}

func TestSpanJSONRoundTrip(t *testing.T) {
	in := Span{
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", ParentID: "a2fb4a1d1a96d312",
		Operation: "sql.query", Service: "db-client",
		Start:    time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC),
		Duration: 42 * time.Microsecond,
		Tags: map[string]interface{}{
			"error": true, "sampled": false, "http.status_code": int64(503),
			"ratio": 0.25, "big": uint64(1 << 63), "db.statement": "SELECT 1",
		},
		Logs: []Log{{
			Time:   time.Date(2024, 5, 1, 12, 0, 0, 123500000, time.UTC),
			Fields: map[string]interface{}{"event": "error", "retry": true, "attempt": int64(2)},
		}},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Span
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip changed the span\n in %#v\nout %#v", in, out)
	}
	if v, ok := out.Tags["error"].(bool); !ok || !v {
		t.Errorf("bool tag came back as %T %v", out.Tags["error"], out.Tags["error"])
	}
}

func TestSpanJSONNeverNull(t *testing.T) {
	b, err := json.Marshal(Span{})
	if err != nil {
		t.Fatal(err)
	}
	if want := `"tags":{}`; !regexp.MustCompile(want).Match(b) {
		t.Errorf("missing %s in %s", want, b)
	}
	if want := `"logs":\[\]`; !regexp.MustCompile(want).Match(b) {
		t.Errorf("missing %s in %s", want, b)
	}
}

type kind string
type code int

func TestJSONValue(t *testing.T) {
	cases := []struct {
		in   interface{}
		want interface{}
	}{
		{true, true},
		{"x", "x"},
		{uint16(200), int64(200)},
		{int32(-3), int64(-3)},
		{uint64(1 << 63), uint64(1 << 63)},
		{float32(0.5), 0.5},
		{kind("server"), "server"},
		{ext.SpanKindRPCServerEnum, "server"},
		{code(7), int64(7)},
		{1500 * time.Millisecond, "1.5s"},
		{errors.New("boom"), "boom"},
		{nil, "<nil>"},
		{[]int{1, 2}, "[1 2]"},
	}
	for _, c := range cases {
		if got := jsonValue(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("jsonValue(%#v) = %#v, want %#v", c.in, got, c.want)
		}
	}
	if _, err := json.Marshal(Span{Tags: map[string]interface{}{"nan": func() {}}}); err != nil {
		t.Errorf("an unencodable tag value broke Marshal: %v", err)
	}
}

func TestFromJaeger(t *testing.T) {
	r := jaeger.NewInMemoryReporter()
	tr := newTracer(t, "checkout", r)

	root := tr.StartSpan("GET /cart", ext.SpanKindRPCServer)
	child := tr.StartSpan("SELECT", opentracing.ChildOf(root.Context()))
	ext.HTTPStatusCode.Set(child, 404)
	ext.Error.Set(child, true)
	child.SetTag("db.statement", "SELECT 1")
	child.LogFields(otlog.String("event", "retry"), otlog.Int("attempt", 2), otlog.Error(errors.New("timeout")))
	child.Finish()
	root.Finish()

	spans := r.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("reported %d spans, want 2", len(spans))
	}
	c := FromJaeger(spans[0].(*jaeger.Span))
	p := FromJaeger(spans[1].(*jaeger.Span))
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	if !hex32.MatchString(c.TraceID) || !hex16.MatchString(c.SpanID) {
		t.Errorf("ids %q / %q not in jaeger's hex form", c.TraceID, c.SpanID)
	}
	if c.TraceID != p.TraceID || c.ParentID != p.SpanID || p.ParentID != "" {
		t.Errorf("links wrong: child %s<-%s parent %s<-%q", c.SpanID, c.ParentID, p.SpanID, p.ParentID)
	}
	jctx := spans[0].Context().(jaeger.SpanContext)
	if c.TraceID != jctx.TraceID().String() || c.SpanID != jctx.SpanID().String() {
		t.Errorf("ids differ from jaeger's: %s %s vs %s", c.TraceID, c.SpanID, jctx)
	}
	if c.Service != "checkout" || c.Operation != "SELECT" {
		t.Errorf("service/operation = %q/%q", c.Service, c.Operation)
	}
	if c.Tags["http.status_code"] != int64(404) || c.Tags["error"] != true || c.Tags["db.statement"] != "SELECT 1" {
		t.Errorf("tags = %#v", c.Tags)
	}
	if p.Tags["span.kind"] != "server" {
		t.Errorf("span.kind = %#v", p.Tags["span.kind"])
	}
	if len(c.Logs) != 1 || !reflect.DeepEqual(c.Logs[0].Fields, map[string]interface{}{"event": "retry", "attempt": int64(2), "error.object": "timeout"}) {
		t.Errorf("logs = %#v", c.Logs)
	}
	if c.Start.Location() != time.UTC || c.Duration < 0 {
		t.Errorf("start %v duration %v", c.Start, c.Duration)
	}
}

func TestFromJaeger64BitTraceID(t *testing.T) {
	r := jaeger.NewInMemoryReporter()
	tr, closer := jaeger.NewTracer("svc", jaeger.NewConstSampler(true), r) // 64-bit ids
	defer closer.Close()
	tr.StartSpan("op").Finish()
	s := FromJaeger(r.GetSpans()[0].(*jaeger.Span))
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(s.TraceID) {
		t.Errorf("64-bit trace id printed as %q", s.TraceID)
	}
}

func TestFromJaegerNil(t *testing.T) {
	s := FromJaeger(nil)
	if s.Tags == nil || s.Logs == nil {
		t.Errorf("FromJaeger(nil) = %#v", s)
	}
}
