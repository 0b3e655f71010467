package trace

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"

	"github.com/ottoolexec/ottoolexec/runtime/spans/spanstest"
)

func TestPublishCopiesHeaders(t *testing.T) {
	tr := spanstest.UseMock(t)
	var c Channel
	c.SetPeer("127.0.0.1:5672")
	headers := map[string]any{"x-app": "hello", "n": int32(7)}
	out, pub := c.Publish("events", "order.created", headers)
	if len(headers) != 2 {
		t.Errorf("the caller's headers changed: %v", headers)
	}
	if out["x-app"] != "hello" || out["n"] != int32(7) {
		t.Errorf("the program's headers are not all sent: %v", out)
	}
	if len(out) <= len(headers) {
		t.Errorf("no trace context in the sent headers: %v", out)
	}
	pub.End(errors.New("channel closed"))
	s := spanstest.Finished(t, tr, "amqp.publish events")
	want := map[string]any{
		"span.kind": "producer", "component": "amqp091-go", "message_bus.destination": "events",
		"amqp.exchange": "events", "amqp.routing_key": "order.created", "peer.address": "127.0.0.1:5672", "error": true,
	}
	for k, v := range want {
		if got := s.Tag(k); got != v {
			t.Errorf("tag %s = %v, want %v", k, got, v)
		}
	}
	// The consumer side finds the producer in what was sent.
	ctx, err := tr.Extract(opentracing.TextMap, table(out))
	if err != nil || ctx.(mocktracer.MockSpanContext).SpanID != s.SpanContext.SpanID {
		t.Errorf("extract from the sent headers: %v, %v", ctx, err)
	}
}

func TestPublishNilHeaders(t *testing.T) {
	tr := spanstest.UseMock(t)
	var c Channel
	out, pub := c.Publish("", "jobs", nil)
	if out == nil {
		t.Fatal("no headers to carry the trace context")
	}
	pub.End(nil)
	s := spanstest.Finished(t, tr, "amqp.publish jobs")
	if s.Tag("message_bus.destination") != "jobs" || s.Tag("amqp.exchange") != nil || s.Tag("error") != nil {
		t.Errorf("tags %v", s.Tags())
	}
}

func TestWithContextParent(t *testing.T) {
	tr := spanstest.UseMock(t)
	var c Channel
	parent := tr.StartSpan("order")
	ctx := opentracing.ContextWithSpan(context.Background(), parent)
	headers := map[string]any{"x-app": "hello"}

	h, done := WithContext(ctx, headers)
	if done == nil {
		t.Fatal("a context with a span of its own was not handed on")
	}
	if len(headers) != 1 || mapKey(h) == mapKey(headers) {
		t.Fatal("WithContext must hand on a copy and leave the caller's table alone")
	}
	// An inner context variant (v1.9.0 calls one from the other) does
	// nothing more.
	if h2, done2 := WithContext(ctx, h); done2 != nil || mapKey(h2) != mapKey(h) {
		t.Error("nested WithContext registered again")
	}
	out, pub := c.Publish("", "work", h)
	if mapKey(out) != mapKey(h) {
		t.Error("Publish copied a table that is already the publishing's own")
	}
	pub.End(nil)
	done()
	if registered.Load() != 0 {
		t.Errorf("%d registrations left", registered.Load())
	}
	s := spanstest.Finished(t, tr, "amqp.publish work")
	if s.ParentID != parent.(*mocktracer.MockSpan).SpanContext.SpanID {
		t.Errorf("producer's parent is %d, want the context's span", s.ParentID)
	}

	// No span in the context: nothing to hand on.
	if _, done := WithContext(context.Background(), headers); done != nil {
		t.Error("WithContext without a span registered a parent")
	}
	var nilCtx context.Context
	if _, done := WithContext(nilCtx, headers); done != nil {
		t.Error("WithContext(nil) registered a parent")
	}
}

func TestAckedDeliveries(t *testing.T) {
	tr := spanstest.UseMock(t)
	var c Channel
	producer := tr.StartSpan("producer")
	sent := map[string]any{"x-app": "hello"}
	if err := tr.Inject(producer.Context(), opentracing.TextMap, table(sent)); err != nil {
		t.Fatal(err)
	}
	c.Consuming("ctag-1", "work", false)
	for tag := uint64(1); tag <= 3; tag++ {
		c.Deliver("ctag-1", tag, "", "work", false, sent)
	}
	if n := len(tr.FinishedSpans()); n != 0 {
		t.Fatalf("%d spans ended before any acknowledgement", n)
	}
	c.Settle(2, true, "ack") // 1 and 2
	c.Settle(3, false, "nack")
	c.Settle(3, false, "ack") // already settled: no second end
	spans := tr.FinishedSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans ended, want 3", len(spans))
	}
	settled := map[any]any{}
	for _, s := range spans {
		if s.OperationName != "amqp.consume work" || s.Tag("span.kind") != "consumer" || s.Tag("message_bus.destination") != "work" || s.Tag("amqp.consumer_tag") != "ctag-1" {
			t.Errorf("span %s %v", s.OperationName, s.Tags())
		}
		if s.ParentID != producer.(*mocktracer.MockSpan).SpanContext.SpanID {
			t.Errorf("delivery span does not follow from the producer")
		}
		settled[s.Tag("amqp.delivery_tag")] = s.Tag("amqp.settle")
	}
	if settled[uint64(1)] != "ack" || settled[uint64(2)] != "ack" || settled[uint64(3)] != "nack" {
		t.Errorf("settled %v", settled)
	}
}

func TestAutoAckAndClose(t *testing.T) {
	tr := spanstest.UseMock(t)
	var c Channel
	c.Consuming("ctag-2", "feed", true)
	c.Deliver("ctag-2", 1, "events", "a", false, nil)
	c.Deliver("ctag-2", 2, "events", "b", true, nil)
	if s := tr.FinishedSpans(); len(s) != 1 || s[0].Tag("amqp.settle") != "auto" || s[0].Tag("amqp.delivery_tag") != uint64(1) {
		t.Fatalf("the next delivery did not end the first: %v", s)
	}
	c.Settle(0, true, "ack") // nothing unacked: auto-acked spans stay
	if len(tr.FinishedSpans()) != 1 {
		t.Fatal("an acknowledgement ended an auto-acked delivery's span")
	}
	c.Consuming("ctag-3", "work", false)
	c.Deliver("ctag-3", 3, "", "work", false, nil)
	c.Closed()
	spans := tr.FinishedSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans ended, want 3", len(spans))
	}
	for _, s := range spans[1:] {
		if s.Tag("amqp.settle") != "closed" {
			t.Errorf("span %v not ended by the close", s.Tags())
		}
		if s.Tag("amqp.delivery_tag") == uint64(2) && s.Tag("amqp.redelivered") != true {
			t.Errorf("redelivered not tagged: %v", s.Tags())
		}
	}
	// A new trace: no producer context in the headers.
	if spans[0].ParentID != 0 {
		t.Errorf("delivery without trace headers has a parent")
	}
}

func TestGotStartTime(t *testing.T) {
	tr := spanstest.UseMock(t)
	var c Channel
	start := time.Now().Add(-time.Second)
	c.Got("jobs", false, start, 7, "", "jobs", false, nil)
	c.Settle(7, false, "reject")
	s := spanstest.Finished(t, tr, "amqp.get jobs")
	if !s.StartTime.Equal(start) || s.Tag("amqp.settle") != "reject" || s.Tag("amqp.consumer_tag") != nil {
		t.Errorf("get span: start %v (want %v), tags %v", s.StartTime, start, s.Tags())
	}
}

// The channel reuses the last publishing's destination: a publishing to
// another exchange or key must still get its own name and tags.
func TestPublishDestinations(t *testing.T) {
	tr := spanstest.UseMock(t)
	var c Channel
	for _, p := range []struct{ exchange, key, name, dest string }{
		{"", "a", "amqp.publish a", "a"},
		{"", "a", "amqp.publish a", "a"},
		{"", "b", "amqp.publish b", "b"},
		{"ex", "b", "amqp.publish ex", "ex"},
		{"ex", "ex", "amqp.publish ex", "ex"},
		{"ex", "", "amqp.publish ex", "ex"},
		{"", "b", "amqp.publish b", "b"},
	} {
		tr.Reset()
		_, pub := c.Publish(p.exchange, p.key, nil)
		pub.End(nil)
		s := spanstest.Finished(t, tr, p.name)
		var exchange, key any
		if p.exchange != "" {
			exchange = p.exchange
		}
		if p.key != "" {
			key = p.key
		}
		if s.Tag("message_bus.destination") != p.dest || s.Tag("amqp.exchange") != exchange || s.Tag("amqp.routing_key") != key || s.Tag("peer.address") != nil {
			t.Errorf("publish to %q with key %q: tags %v", p.exchange, p.key, s.Tags())
		}
	}
}

// Publishing again to the same place builds nothing the channel already
// has: with a tracer that allocates nothing, what is left per publishing
// is the start option and the copy of the headers (a map and its group).
func TestPublishAllocations(t *testing.T) {
	prev := opentracing.GlobalTracer()
	opentracing.SetGlobalTracer(opentracing.NoopTracer{})
	t.Cleanup(func() { opentracing.SetGlobalTracer(prev) })
	var c Channel
	c.SetPeer("127.0.0.1:5672")
	headers := map[string]any{"x-app": "hello"}
	allocs := testing.AllocsPerRun(100, func() {
		_, pub := c.Publish("", "jobs", headers)
		pub.End(nil)
	})
	t.Logf("%.1f allocations per publishing", allocs)
	if allocs > 3 {
		t.Errorf("%.1f allocations per publishing, want at most 3", allocs)
	}
}
