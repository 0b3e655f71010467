package kafkatrace

import (
	"context"
	"errors"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"

	"github.com/ottoolexec/ottoolexec/runtime/spans/spanstest"
)

// TestProducerToConsumer sends a producer span's context through headers
// and checks that the consumer span follows from it, with the tags.
func TestProducerToConsumer(t *testing.T) {
	tr := spanstest.UseMock(t)
	parent := tr.StartSpan("order")
	p := StartProducer(opentracing.ContextWithSpan(context.Background(), parent), "test", "orders", "127.0.0.1:9092")
	headers := map[string]string{}
	p.Inject(func(k, v string) { headers[k] = v })
	if len(headers) == 0 {
		t.Fatal("no trace context injected")
	}
	p.End(3, 42, nil)
	p.End(0, 0, errors.New("late")) // ends once: ignored
	parent.Finish()

	c := StartConsumer("test", Message{Topic: "orders", Partition: 3, Offset: 42, Group: "g",
		Headers: func(h func(k, v string) error) error {
			for k, v := range headers {
				if err := h(k, v); err != nil {
					return err
				}
			}
			return nil
		}})
	c.Finish()

	spans := tr.FinishedSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	prod, cons := spans[0], spans[2]
	if prod.ParentID != parent.(*mocktracer.MockSpan).SpanContext.SpanID {
		t.Errorf("producer parent %d, want the program's span", prod.ParentID)
	}
	if prod.Tag(TagPartition) != int32(3) || prod.Tag(TagOffset) != int64(42) || prod.Tag("error") != nil {
		t.Errorf("producer tags %v", prod.Tags())
	}
	if prod.Tag("span.kind") != "producer" || prod.Tag("message_bus.destination") != "orders" || prod.Tag("peer.address") != "127.0.0.1:9092" {
		t.Errorf("producer tags %v", prod.Tags())
	}
	if cons.ParentID != prod.SpanContext.SpanID || cons.SpanContext.TraceID != prod.SpanContext.TraceID {
		t.Errorf("consumer does not follow the producer: %+v", cons)
	}
	if cons.Tag("span.kind") != "consumer" || cons.Tag(TagGroup) != "g" || cons.Tag(TagOffset) != int64(42) || cons.Tag("peer.address") != nil {
		t.Errorf("consumer tags %v", cons.Tags())
	}
}

func TestProducerError(t *testing.T) {
	tr := spanstest.UseMock(t)
	p := StartProducerHere("test", "orders", "")
	p.End(-1, -1, errors.New("boom"))
	s := tr.FinishedSpans()[0]
	if s.Tag("error") != true || s.Tag(TagOffset) != nil || s.Tag("peer.address") != nil {
		t.Errorf("tags %v", s.Tags())
	}
	if logs := s.Logs(); len(logs) != 1 || logs[0].Fields[1].ValueString != "boom" {
		t.Errorf("logs %v", logs)
	}
}

// TestConsumerEnds checks what ends a consumer span: a commit up to its
// offset, the next read (without a goroutine slot: every open span), and
// Close.
func TestConsumerEnds(t *testing.T) {
	tr := spanstest.UseMock(t)
	var c Consumer
	for off := int64(0); off < 3; off++ {
		c.Deliver(StartConsumer("test", Message{Topic: "t", Offset: off}), "t", 0, off, false)
	}
	c.Commit("t", 0, 1, "commit")
	if n := len(tr.FinishedSpans()); n != 2 {
		t.Fatalf("commit up to offset 1 ended %d spans, want 2", n)
	}
	c.Next()
	if n := len(tr.FinishedSpans()); n != 3 {
		t.Fatalf("next ended %d spans in all, want 3", n)
	}
	c.Deliver(StartConsumer("test", Message{Topic: "t", Offset: 3}), "t", 0, 3, false)
	c.Close()
	c.Close()
	got := tr.FinishedSpans()
	if len(got) != 4 || got[3].Tag(TagEnd) != "close" || got[0].Tag(TagEnd) != "commit" || got[2].Tag(TagEnd) != "next" {
		t.Errorf("spans %v", got)
	}
}
