package otlp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/ottoolexec/ottoolexec/runtime/boot"
)

func TestJaegerPropagatorRoundTrip(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 15: 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 7: 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	carrier := propagation.MapCarrier{}
	jaegerPropagator{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), carrier)
	if want := "4bf90000000000000000000000000036:00f00000000000b7:0:1"; carrier[jaegerHeader] != want {
		t.Errorf("injected %q, want %q", carrier[jaegerHeader], want)
	}
	got := trace.SpanContextFromContext(jaegerPropagator{}.Extract(context.Background(), carrier))
	if got.TraceID() != sc.TraceID() || got.SpanID() != sc.SpanID() || !got.IsSampled() || !got.IsRemote() {
		t.Errorf("extracted %+v, want %+v", got, sc)
	}
}

func TestParseJaeger(t *testing.T) {
	sc, ok := parseJaeger("abc%3Adef%3A0%3A0")
	if !ok || sc.TraceID().String() != "00000000000000000000000000000abc" || sc.SpanID().String() != "0000000000000def" || sc.IsSampled() {
		t.Errorf("short ids: %v %v", sc, ok)
	}
	for _, bad := range []string{"", "abc:def:0", "xyz:def:0:1", "0:def:0:1", "abc:0:0:1", "abc:def:0:zz",
		strings.Repeat("a", 33) + ":def:0:1"} {
		if _, ok := parseJaeger(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// fakeExporter records exported spans; block holds exports until closed.
type fakeExporter struct {
	mu       sync.Mutex
	names    []string
	fail     error
	block    chan struct{}
	shutdown atomic.Bool
}

func (e *fakeExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.block != nil {
		<-e.block
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range spans {
		e.names = append(e.names, s.Name())
	}
	return e.fail
}

func (e *fakeExporter) Shutdown(context.Context) error {
	e.shutdown.Store(true)
	return nil
}

func TestProcessorSendsAtClose(t *testing.T) {
	exp := &fakeExporter{}
	var stderr bytes.Buffer
	p := newProcessor(exp, newErrorLog(&stderr, "test"), queueConfig{size: 10, batch: 3, delay: time.Hour})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	for range 5 {
		_, span := tp.Tracer("t").Start(context.Background(), "op")
		span.End()
	}
	p.close()
	if len(exp.names) != 5 || !exp.shutdown.Load() || p.sent.Load() != 5 || p.pending() != 0 || stderr.Len() != 0 {
		t.Errorf("exported %d, shutdown %t, sent %d, pending %d, stderr %q", len(exp.names), exp.shutdown.Load(), p.sent.Load(), p.pending(), stderr.String())
	}
}

func TestProcessorDropsWhenFullAndCountsFailures(t *testing.T) {
	exp := &fakeExporter{block: make(chan struct{}), fail: errors.New("collector says no")}
	var stderr bytes.Buffer
	p := newProcessor(exp, newErrorLog(&stderr, "OTLP test"), queueConfig{size: 2, batch: 1, delay: time.Hour})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	start := time.Now()
	for range 10 {
		_, span := tp.Tracer("t").Start(context.Background(), "op")
		span.End()
	}
	if time.Since(start) > time.Second {
		t.Errorf("ending spans waited for the exporter")
	}
	// At most one span is in the blocked export and two in the queue.
	if d := p.dropped.Load(); d < 7 || d > 8 {
		t.Errorf("dropped %d, want 7 or 8", d)
	}
	close(exp.block)
	p.close()
	if got := p.failed.Load() + p.dropped.Load(); got != 10 || p.pending() != 0 {
		t.Errorf("failed+dropped %d, pending %d", got, p.pending())
	}
	if n := strings.Count(stderr.String(), "collector says no"); n != 1 {
		t.Errorf("error printed %d times: %q", n, stderr.String())
	}
	d := &destination{proc: p, provider: tp}
	if pr := d.Problems(); len(pr) != 1 || !strings.Contains(pr[0], "spans not sent: collector says no") {
		t.Errorf("problems %q", pr)
	}
}

// TestStartOverHTTP starts the exporter the way boot does, against a
// server standing in for a collector, and checks the trace headers the
// bridge tracer writes and reads.
func TestStartOverHTTP(t *testing.T) {
	var posts atomic.Int32
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/v1/traces" && r.Method == http.MethodPost {
			posts.Add(1)
		}
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	var stderr bytes.Buffer
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}
	tracer, dest, err := start(boot.Settings{Service: "svc", Version: "test", Stderr: &stderr,
		Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	span := tracer.StartSpan("op")
	h := http.Header{}
	if err := tracer.Inject(span.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(h)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h.Get("traceparent"), "00-") || !strings.HasSuffix(h.Get("uber-trace-id"), ":0:1") ||
		!strings.Contains(h.Get("traceparent"), strings.Split(h.Get("uber-trace-id"), ":")[0]) {
		t.Errorf("headers %v", h)
	}
	span.Finish()
	in := http.Header{}
	in.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	parent, err := tracer.Extract(opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(in))
	if err != nil {
		t.Fatal(err)
	}
	child := tracer.StartSpan("child", opentracing.ChildOf(parent))
	out := http.Header{}
	tracer.Inject(child.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(out))
	if !strings.HasPrefix(out.Get("traceparent"), "00-4bf92f3577b34da6a3ce929d0e0e4736-") {
		t.Errorf("child of a traceparent: %v", out)
	}
	child.Finish()
	dest.Close()
	if posts.Load() == 0 || dest.Pending() != 0 || dest.QueueDrops() != 0 || dest.Problems() != nil || stderr.Len() != 0 {
		t.Errorf("posts %d, pending %d, drops %d, problems %q, stderr %q", posts.Load(), dest.Pending(), dest.QueueDrops(), dest.Problems(), stderr.String())
	}
}

func TestUnsupportedProtocol(t *testing.T) {
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}
	_, _, err := start(boot.Settings{Stderr: io.Discard, Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err == nil || !strings.Contains(err.Error(), `"http/json" is not supported`) {
		t.Errorf("got %v", err)
	}
}
