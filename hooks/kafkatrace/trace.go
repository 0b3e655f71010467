// Package kafkatrace is the runtime half shared by the Kafka integrations
// (kafkago, sarama, franzgo): the code they splice into their client
// library calls it with plain values (topic, partition, offset, broker
// address, header keys and values) and it makes the spans. A producer span
// covers one message from the call that hands it to the client until the
// broker acknowledged it (or the client gave up); a consumer span covers
// one consumed message from the moment the program got it until it asks
// for more, commits it or closes the consumer, depending on the library.
//
// It speaks only standard library types and opentracing, so that
// ottoolexec's module never requires a Kafka library.
package kafkatrace

import (
	"context"
	"sync"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/log"

	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

// Enabled is false when OTTOOLEXEC_DISABLED asks for a plain program; the
// spliced code tests it before calling anything else here.
var Enabled = !spans.Disabled()

// Tags of our own, beside the OpenTracing conventions.
const (
	TagPartition = "kafka.partition"
	TagOffset    = "kafka.offset"
	// TagGroup is the consumer group of a consumer span, where known.
	TagGroup = "kafka.group"
	// TagEnd says what ended a consumer span: "next" (the program asked
	// for the next message), "commit", "mark" (sarama's MarkMessage) or
	// "close".
	TagEnd = "kafka.end"
)

// Producer is the span of one message on its way to the broker; nil is a
// message without one (tracing disabled, or a panic was recovered).
type Producer struct {
	span opentracing.Span
	once sync.Once
}

// StartProducer starts the producer span of a message to topic, a child
// of the span in ctx (or of the goroutine's current span, if ctx has none).
// peer is the broker's address ("" when unknown).
func StartProducer(ctx context.Context, component, topic, peer string) *Producer {
	defer spans.Guard(component + " produce")
	return startProducer(spans.Current(ctx), component, topic, peer)
}

// StartProducerHere is StartProducer for APIs that take no context: the
// parent is the calling goroutine's current span.
func StartProducerHere(component, topic, peer string) *Producer {
	defer spans.Guard(component + " produce")
	return startProducer(spans.CurrentWithoutContext(), component, topic, peer)
}

// StartProducerRoot is StartProducer for messages whose sender is not
// known (they come through a channel): the span starts a trace of its own.
func StartProducerRoot(component, topic, peer string) *Producer {
	defer spans.Guard(component + " produce")
	return startProducer(nil, component, topic, peer)
}

func startProducer(parent opentracing.Span, component, topic, peer string) *Producer {
	opts := make([]opentracing.StartSpanOption, 0, 2)
	if parent != nil {
		opts = append(opts, opentracing.ChildOf(parent.Context()))
	}
	tags := opentracing.Tags{
		string(spans.SpanKind):  string(ext.SpanKindProducerEnum),
		string(spans.Component): component,
	}
	name := "kafka.produce"
	if topic != "" { // else the client fails the message for it
		name += " " + topic
		tags[string(spans.MessageBusDest)] = topic
	}
	if peer != "" {
		tags[string(spans.PeerAddress)] = peer
	}
	opts = append(opts, tags)
	return &Producer{span: spans.Tracer().StartSpan(name, opts...)}
}

// Inject hands the span's trace context to set, one header at a time.
func (p *Producer) Inject(set func(key, val string)) {
	if p == nil {
		return
	}
	defer spans.Guard("kafka produce")
	if err := spans.Tracer().Inject(p.span.Context(), opentracing.TextMap, writer(set)); err != nil {
		p.span.LogFields(log.String("event", "inject failed"), log.Error(err))
	}
}

// End ends the span once: with the partition and offset the broker gave
// the message (offset < 0 when unknown), or with err. Later calls do
// nothing, so a client's several ways of finishing a message can all call
// it.
func (p *Producer) End(partition int32, offset int64, err error) {
	if p == nil {
		return
	}
	p.once.Do(func() {
		defer spans.Guard("kafka produce")
		if err != nil {
			fail(p.span, err)
		} else {
			p.span.SetTag(TagPartition, partition)
			if offset >= 0 {
				p.span.SetTag(TagOffset, offset)
			}
		}
		p.span.Finish()
	})
}

func fail(span opentracing.Span, err error) {
	spans.Error.Set(span, true)
	span.LogFields(log.String("event", "error"), log.String("message", err.Error()))
}

// Headers reads a message's headers for Extract: it calls handler with
// each header's key and value, stopping at its first error.
type Headers func(handler func(key, val string) error) error

// ForeachKey makes Headers an opentracing.TextMapReader.
func (h Headers) ForeachKey(handler func(key, val string) error) error { return h(handler) }

type writer func(key, val string)

func (w writer) Set(key, val string) { w(key, val) }

// Message is what a consumer span is started from.
type Message struct {
	Topic     string
	Partition int32
	Offset    int64
	Peer      string  // broker address, "" when unknown
	Group     string  // consumer group, "" for none
	Headers   Headers // the message's headers, for the producer's context
}

// StartConsumer starts the consumer span of a message, following from the
// producer span whose context its headers carry (a new trace without one).
func StartConsumer(component string, m Message) opentracing.Span {
	defer spans.Guard(component + " consume")
	tracer := spans.Tracer()
	opts := make([]opentracing.StartSpanOption, 0, 2)
	if m.Headers != nil {
		// Missing or malformed trace headers start a new trace.
		if producer, err := tracer.Extract(opentracing.TextMap, m.Headers); err == nil && producer != nil {
			opts = append(opts, opentracing.FollowsFrom(producer))
		}
	}
	tags := opentracing.Tags{
		string(spans.SpanKind):       string(ext.SpanKindConsumerEnum),
		string(spans.Component):      component,
		string(spans.MessageBusDest): m.Topic,
		TagPartition:                 m.Partition,
		TagOffset:                    m.Offset,
	}
	if m.Peer != "" {
		tags[string(spans.PeerAddress)] = m.Peer
	}
	if m.Group != "" {
		tags[TagGroup] = m.Group
	}
	opts = append(opts, tags)
	return tracer.StartSpan("kafka.consume "+m.Topic, opts...)
}

// maxOpen bounds the consumer spans one consumer keeps open: past it the
// oldest ends, so that a program that never asks for more (or reads from
// many goroutines without a goroutine slot) cannot pile spans up.
const maxOpen = 1024

// Consumer holds the open consumer spans of one consumer (a kafka-go
// Reader, a franz-go Client, a sarama partition consumer). The integrations
// add it as a field to the library's type; its zero value is ready to use.
type Consumer struct {
	mu   sync.Mutex
	open []*held
}

// held is an open consumer span. When a goroutine has it as its current
// span, that goroutine had prev before.
type held struct {
	span     opentracing.Span
	topic    string
	part     int32
	offset   int64
	current  bool
	prev     opentracing.Span
	finished bool
}

// Deliver records an open consumer span. With current set, the calling
// goroutine gets it as its current span (where spans can follow
// goroutines) until it ends, so that what the program does to handle the
// message is its child.
func (c *Consumer) Deliver(span opentracing.Span, topic string, partition int32, offset int64, current bool) {
	if span == nil {
		return
	}
	defer spans.Guard("kafka consume")
	h := &held{span: span, topic: topic, part: partition, offset: offset}
	if current && spans.HasGoroutineSlot() {
		h.current = true
		h.prev = spans.GoroutineSpan()
		c.mu.Lock()
		for _, o := range c.open {
			if o.current && spans.Same(o.span, h.prev) {
				// Still holding an earlier message: when this one ends,
				// go back to what the goroutine had before either.
				h.prev = o.prev
				break
			}
		}
		c.mu.Unlock()
		spans.SetGoroutineSpan(span)
	}
	var evicted []*held
	c.mu.Lock()
	c.open = append(c.open, h)
	if n := len(c.open) - maxOpen; n > 0 {
		evicted = append(evicted, c.open[:n]...)
		c.open = append(c.open[:0], c.open[n:]...)
	}
	c.mu.Unlock()
	endAll(evicted, "evicted")
}

// Next is called when a goroutine asks the consumer for more messages: the
// spans that goroutine holds as its current span end, being handled. Where
// spans cannot follow goroutines, every open span of the consumer ends.
func (c *Consumer) Next() {
	defer spans.Guard("kafka consume")
	c.mu.Lock()
	if len(c.open) == 0 {
		c.mu.Unlock()
		return
	}
	var done []*held
	if !spans.HasGoroutineSlot() {
		done, c.open = c.open, nil
	} else {
		cur := spans.GoroutineSpan()
		keep := c.open[:0]
		for _, h := range c.open {
			if h.current && spans.Same(h.span, cur) {
				done = append(done, h)
				continue
			}
			keep = append(keep, h)
		}
		c.open = keep
	}
	c.mu.Unlock()
	endAll(done, "next")
}

// Commit ends the open spans of messages of topic and partition up to
// offset (inclusive): they are handled.
func (c *Consumer) Commit(topic string, partition int32, offset int64, how string) {
	defer spans.Guard("kafka commit")
	var done []*held
	c.mu.Lock()
	keep := c.open[:0]
	for _, h := range c.open {
		if h.topic == topic && h.part == partition && h.offset <= offset {
			done = append(done, h)
			continue
		}
		keep = append(keep, h)
	}
	c.open = keep
	c.mu.Unlock()
	endAll(done, how)
}

// EndAll ends every open span, saying how: for a consumer whose program
// asks for a batch of messages at a time (none of them the goroutine's
// current span), the next request ("next") ends the previous batch.
func (c *Consumer) EndAll(how string) {
	defer spans.Guard("kafka consume")
	c.mu.Lock()
	done := c.open
	c.open = nil
	c.mu.Unlock()
	endAll(done, how)
}

// Close ends every open span: the consumer is closing.
func (c *Consumer) Close() { c.EndAll("close") }

// endAll ends spans newest first, so that a goroutine holding several goes
// back to the span it had before the first.
func endAll(done []*held, how string) {
	for i := len(done) - 1; i >= 0; i-- {
		done[i].end(how)
	}
}

func (h *held) end(how string) {
	if h.finished {
		return
	}
	h.finished = true
	h.span.SetTag(TagEnd, how)
	// Only the goroutine whose current span this is gets its previous one
	// back: a commit from another goroutine changes nothing there.
	if h.current {
		spans.HandBack(h.span, h.prev)
	}
	h.span.Finish()
}
