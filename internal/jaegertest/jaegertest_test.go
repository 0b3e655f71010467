package jaegertest_test

import (
	"context"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/transport"

	"github.com/ottoolexec/ottoolexec/internal/jaegertest"
)

func TestRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a jaeger server; skipped in -short mode")
	}
	ctx := t.Context()

	// The first build takes minutes (about 8 on two loaded CPUs). Give up a
	// little before the test deadline, so that a too-short -timeout ends in
	// a clear failure rather than a panic.
	bctx := ctx
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		bctx, cancel = context.WithDeadline(ctx, d.Add(-20*time.Second))
		defer cancel()
	}
	start := time.Now()
	bin, err := jaegertest.Binary(bctx)
	if err != nil {
		t.Fatalf("Binary (the first build of jaeger takes minutes; if it ran out of time, rerun with -timeout 30m): %v", err)
	}
	t.Logf("jaeger binary %s (%v)", bin, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	srv, err := jaegertest.Start(ctx, bin)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Stop)
	t.Logf("jaeger up in %v: collector %s, query %s", time.Since(start).Round(time.Millisecond), srv.CollectorEndpoint, srv.QueryURL)

	const service = "jaegertest-roundtrip"
	tracer, closer := jaeger.NewTracer(service,
		jaeger.NewConstSampler(true),
		jaeger.NewRemoteReporter(transport.NewHTTPTransport(srv.CollectorEndpoint)))
	root := tracer.StartSpan("root-op")
	root.SetTag("smoke.key", "smoke-value")
	root.SetTag("smoke.count", 42)
	child := tracer.StartSpan("child-op", opentracing.ChildOf(root.Context()))
	child.Finish()
	root.Finish()
	if err := closer.Close(); err != nil { // flushes the reporter
		t.Fatalf("closing tracer: %v", err)
	}

	start = time.Now()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	traces, err := srv.WaitForSpans(wctx, service, 2)
	if err != nil {
		t.Fatalf("WaitForSpans: %v", err)
	}
	t.Logf("spans visible after %v", time.Since(start).Round(time.Millisecond))
	// Jaeger's own counters saw the two spans go in and get stored. The
	// query API can show spans a moment before the counters move.
	var counts jaegertest.PipelineCounts
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		counts, err = srv.PipelineCounts(ctx)
		if err != nil {
			t.Fatalf("PipelineCounts: %v", err)
		}
		if counts.Sent >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if counts.Accepted < 2 || counts.Sent < 2 || counts.Refused != 0 || counts.SendFailed != 0 {
		t.Errorf("PipelineCounts = %s, want 2 received and stored, none refused or failed", counts)
	}
	if len(traces) != 1 {
		t.Fatalf("got %d traces, want 1: %+v", len(traces), traces)
	}
	spans := map[string]jaegertest.Span{}
	for _, sp := range traces[0].Spans {
		spans[sp.OperationName] = sp
	}
	r, ok := spans["root-op"]
	if !ok {
		t.Fatalf("no span root-op in %+v", traces[0].Spans)
	}
	if r.ServiceName != service {
		t.Errorf("root service = %q, want %q", r.ServiceName, service)
	}
	if got := r.Tags["smoke.key"]; got != "smoke-value" {
		t.Errorf("root tag smoke.key = %#v, want %q", got, "smoke-value")
	}
	if got := r.Tags["smoke.count"]; got != int64(42) {
		t.Errorf("root tag smoke.count = %#v, want int64(42)", got)
	}
	if r.ParentSpanID != "" {
		t.Errorf("root has parent %q", r.ParentSpanID)
	}
	if r.TraceID != traces[0].TraceID {
		t.Errorf("root trace id %q, trace %q", r.TraceID, traces[0].TraceID)
	}
	c, ok := spans["child-op"]
	if !ok {
		t.Fatalf("no span child-op in %+v", traces[0].Spans)
	}
	if c.ParentSpanID != r.SpanID {
		t.Errorf("child parent = %q, want root %q", c.ParentSpanID, r.SpanID)
	}
	if c.ServiceName != service {
		t.Errorf("child service = %q, want %q", c.ServiceName, service)
	}

	// Stop ends the process and removes its directory; a second Stop is harmless.
	start = time.Now()
	srv.Stop()
	t.Logf("stopped in %v", time.Since(start).Round(time.Millisecond))
	srv.Stop()
	if _, err := srv.Traces(ctx, service); err == nil {
		t.Errorf("query API still answers after Stop")
	}
}
