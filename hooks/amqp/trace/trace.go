// Package trace is the runtime half of the amqp integration: the code that
// ottoolexec splices into github.com/rabbitmq/amqp091-go calls it to make
// producer spans for publishings and consumer spans for deliveries.
//
// It speaks only standard library types: an AMQP header table is passed as
// map[string]any (amqp091.Table's underlying type), so that ottoolexec's
// module never requires amqp091-go and never raises the program's version.
package trace

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/log"

	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

// Enabled is false when OTTOOLEXEC_DISABLED asks for a plain program; the
// spliced code tests it before calling anything else here.
var Enabled = !spans.Disabled()

const component = "amqp091-go"

// Tags of our own, beside the OpenTracing conventions.
const (
	tagExchange    = "amqp.exchange"
	tagRoutingKey  = "amqp.routing_key"
	tagConsumerTag = "amqp.consumer_tag"
	tagDeliveryTag = "amqp.delivery_tag"
	tagRedelivered = "amqp.redelivered"
	// tagSettle says what ended a consumer span: "ack", "nack",
	// "reject", "auto" (an auto-acknowledged delivery, ended when the
	// next one for the same consumer arrived) or "closed" (the channel
	// closed first).
	tagSettle = "amqp.settle"
)

// Channel is the tracing state of one AMQP channel. ottoolexec adds it as a
// field to amqp091.Channel; its zero value is ready to use.
type Channel struct {
	peer atomic.Pointer[peer]        // the broker's address, set once known
	dest atomic.Pointer[destination] // the last publishing's destination

	mu        sync.Mutex
	consumers map[string]consumer  // by consumer tag, from basic.consume
	unacked   map[uint64]*delivery // by delivery tag, until acked
	auto      map[string]*delivery // auto-acked: the last one per consumer tag ("" for Get)
	held      []*delivery          // Get deliveries whose span a goroutine holds
}

type consumer struct {
	queue   string
	autoAck bool
}

// delivery is an open consumer span.
type delivery struct {
	tag  uint64
	span opentracing.Span
	// For a delivery from Get: the goroutine that called Get has span as
	// its current span, and had prev before.
	held bool
	prev opentracing.Span
}

// peer is the broker's address, also as the tag value, boxed once per
// channel rather than once per span.
type peer struct {
	addr string
	tag  any
}

// Peer returns the broker address recorded with SetPeer, or "".
func (c *Channel) Peer() string {
	if p := c.peer.Load(); p != nil {
		return p.addr
	}
	return ""
}

// SetPeer records the broker's address (host:port) for peer.address.
func (c *Channel) SetPeer(addr string) {
	c.peer.Store(&peer{addr: addr, tag: addr})
}

// peerTag is the peer.address value, or nil while the address is unknown.
func (c *Channel) peerTag() any {
	if p := c.peer.Load(); p != nil {
		return p.tag
	}
	return nil
}

// destination is what the spans of publishings to one exchange with one
// routing key share: the operation name and the tag values, each built
// once. A producer mostly publishes to the same place again and again, so
// the channel keeps the last one and a publishing to the same exchange and
// key allocates none of it.
type destination struct {
	exchange, key string
	name          string // "amqp.publish " and the exchange, or the key for the default exchange
	dest          any    // message_bus.destination
	exchangeTag   any    // amqp.exchange; nil for the default exchange
	keyTag        any    // amqp.routing_key; nil when empty
}

// destinationOf returns the destination of a publishing to exchange with
// routing key key, from the channel's last one when it matches.
func (c *Channel) destinationOf(exchange, key string) *destination {
	if d := c.dest.Load(); d != nil && d.exchange == exchange && d.key == key {
		return d
	}
	d := &destination{exchange: exchange, key: key}
	if exchange == "" {
		// The default exchange routes by queue name.
		d.name = "amqp.publish " + key
		d.dest = key
	} else {
		d.name = "amqp.publish " + exchange
		d.dest = exchange
		d.exchangeTag = d.dest
	}
	if key != "" {
		if key == exchange || exchange == "" {
			d.keyTag = d.dest
		} else {
			d.keyTag = key
		}
	}
	c.dest.Store(d)
	return d
}

// Parents of publishings made with a context (PublishWithContext and
// PublishWithDeferredConfirmWithContext), keyed by the identity of the
// header table they publish. Recent versions of amqp091-go drop the context
// before the frame is sent, so the publishing's own copy of its headers is
// what carries the parent from the call to the send, where the span starts.
var (
	parents    sync.Map // unsafe.Pointer (a map) -> opentracing.Span
	registered atomic.Int64
)

// WithContext is called on entry to the context variants of Publish. When
// ctx names a parent other than the one the goroutine would give, it returns
// a copy of headers to publish instead (the caller's table is never
// changed) and the function to call when the publishing is done;
// otherwise it returns headers and nil.
func WithContext(ctx context.Context, headers map[string]any) (out map[string]any, done func()) {
	out = headers
	defer spans.Guard("amqp publish")
	if ctx == nil {
		return headers, nil
	}
	parent := spans.Current(ctx)
	if parent == nil || spans.Same(parent, spans.CurrentWithoutContext()) {
		return headers, nil
	}
	if registered.Load() > 0 {
		if _, ok := parents.Load(mapKey(headers)); ok {
			return headers, nil // an outer variant already did it
		}
	}
	cp := clone(headers)
	key := mapKey(cp)
	parents.Store(key, parent)
	registered.Add(1)
	return cp, func() {
		parents.Delete(key)
		registered.Add(-1)
	}
}

// Publish starts the producer span of one publishing, about to be sent on
// c to exchange with routing key key. It returns the header table to send
// instead of headers (a copy with the trace context added) and the
// publishing, whose End the send calls with its error.
//
// This runs for every message a program publishes, so it keeps to what a
// hand-written wrapper does: every tag goes in with the start options (one
// tag slice, no locking per tag), those options are one value, and nothing
// the channel has built before is built again (see destination and peer).
func (c *Channel) Publish(exchange, key string, headers map[string]any) (out map[string]any, p Publishing) {
	out = headers
	defer spans.Guard("amqp publish")
	parent, ours := opentracing.Span(nil), false
	if registered.Load() > 0 {
		if p, ok := parents.Load(mapKey(headers)); ok {
			parent, ours = p.(opentracing.Span), true
		}
	}
	if !ours {
		parent = spans.CurrentWithoutContext()
	}
	d := c.destinationOf(exchange, key)
	start := &producerStart{to: d, peer: c.peerTag()}
	if parent != nil {
		start.parent = parent.Context()
	}
	start.opts[0] = start
	tracer := spans.Tracer()
	span := tracer.StartSpan(d.name, start.opts[:]...)
	send := headers
	if !ours {
		send = clone(headers)
	}
	if err := tracer.Inject(span.Context(), opentracing.TextMap, table(send)); err != nil {
		span.LogFields(log.String("event", "inject failed"), log.Error(err))
	}
	return send, Publishing{span}
}

// producerStart is every start option of a producer span in one value, so
// that starting the span allocates one option, not a slice of boxed ones.
// opts is the slice handed to StartSpan, holding the value itself.
type producerStart struct {
	opts   [1]opentracing.StartSpanOption
	to     *destination
	peer   any // nil while the broker's address is unknown
	parent opentracing.SpanContext
}

// producerTags is the most tags a producer span starts with.
const producerTags = 6

func (s *producerStart) Apply(o *opentracing.StartSpanOptions) {
	if s.parent != nil {
		opentracing.ChildOf(s.parent).Apply(o)
	}
	if o.Tags == nil {
		o.Tags = make(map[string]any, producerTags)
	}
	o.Tags[string(spans.SpanKind)] = string(ext.SpanKindProducerEnum)
	o.Tags[string(spans.Component)] = component
	o.Tags[string(spans.MessageBusDest)] = s.to.dest
	if s.to.exchangeTag != nil {
		o.Tags[tagExchange] = s.to.exchangeTag
	}
	if s.to.keyTag != nil {
		o.Tags[tagRoutingKey] = s.to.keyTag
	}
	if s.peer != nil {
		o.Tags[string(spans.PeerAddress)] = s.peer
	}
}

// Publishing is the producer span of a publishing being sent; the zero
// value (no span) is for frames that are not publishings.
type Publishing struct {
	span opentracing.Span
}

// Started reports whether there is a span to end.
func (p Publishing) Started() bool { return p.span != nil }

// End ends the producer span with the send's error.
func (p Publishing) End(err error) {
	defer spans.Guard("amqp publish")
	if err != nil {
		spans.Error.Set(p.span, true)
		p.span.LogFields(log.String("event", "error"), log.String("message", err.Error()))
	}
	p.span.Finish()
}

// Consuming records a basic.consume about to be sent: deliveries for tag
// come from queue, and need no acknowledgement when autoAck is set.
func (c *Channel) Consuming(tag, queue string, autoAck bool) {
	defer spans.Guard("amqp consume")
	c.mu.Lock()
	if c.consumers == nil {
		c.consumers = make(map[string]consumer)
	}
	c.consumers[tag] = consumer{queue, autoAck}
	c.mu.Unlock()
}

// Deliver starts the consumer span of a delivery for a Consume consumer,
// as the channel receives it. The span ends when the program acknowledges
// the delivery, when the next delivery for an auto-acknowledging consumer
// arrives, or when the channel closes.
func (c *Channel) Deliver(consumerTag string, deliveryTag uint64, exchange, key string, redelivered bool, headers map[string]any) {
	defer spans.Guard("amqp consume")
	c.mu.Lock()
	cons, known := c.consumers[consumerTag]
	c.mu.Unlock()
	span := c.startConsumer("amqp.consume", cons.queue, time.Time{}, deliveryTag, exchange, key, redelivered, headers)
	span.SetTag(tagConsumerTag, consumerTag)
	// A consumer we did not see start is taken to acknowledge: its spans
	// then end at the latest when the channel closes.
	c.open(&delivery{tag: deliveryTag, span: span}, consumerTag, known && cons.autoAck)
}

// Got starts the consumer span of a delivery that Get (called at start)
// returned from queue. The goroutine that called Get has the span as its
// current span until the delivery is acknowledged (for autoAck, until its
// next Get on this channel), so calls made while handling the message are
// its children.
func (c *Channel) Got(queue string, autoAck bool, start time.Time, deliveryTag uint64, exchange, key string, redelivered bool, headers map[string]any) {
	defer spans.Guard("amqp get")
	span := c.startConsumer("amqp.get", queue, start, deliveryTag, exchange, key, redelivered, headers)
	d := &delivery{tag: deliveryTag, span: span, held: spans.HasGoroutineSlot()}
	if d.held {
		d.prev = spans.GoroutineSpan()
		c.mu.Lock()
		for _, h := range c.held {
			if spans.Same(h.span, d.prev) {
				// A Get after a Get whose delivery is not settled yet:
				// when this one is, the goroutine goes back to what it
				// had before either.
				d.prev = h.prev
				break
			}
		}
		c.held = append(c.held, d)
		c.mu.Unlock()
		spans.SetGoroutineSpan(span)
	}
	c.open(d, "", autoAck)
}

// startConsumer starts a consumer span that follows from the producer
// whose trace context headers carry, if any.
func (c *Channel) startConsumer(op, queue string, start time.Time, deliveryTag uint64, exchange, key string, redelivered bool, headers map[string]any) opentracing.Span {
	tracer := spans.Tracer()
	opts := []opentracing.StartSpanOption{opentracing.Tag{Key: string(spans.SpanKind), Value: "consumer"}}
	// Missing or malformed trace headers start a new trace.
	if producer, err := tracer.Extract(opentracing.TextMap, table(headers)); err == nil && producer != nil {
		opts = append(opts, opentracing.FollowsFrom(producer))
	}
	if !start.IsZero() {
		opts = append(opts, opentracing.StartTime(start))
	}
	name := op
	if queue != "" {
		name += " " + queue
	}
	span := tracer.StartSpan(name, opts...)
	spans.Component.Set(span, component)
	if queue != "" {
		spans.MessageBusDest.Set(span, queue)
	}
	if exchange != "" {
		span.SetTag(tagExchange, exchange)
	}
	if key != "" {
		span.SetTag(tagRoutingKey, key)
	}
	span.SetTag(tagDeliveryTag, deliveryTag)
	if redelivered {
		span.SetTag(tagRedelivered, true)
	}
	if peer := c.peerTag(); peer != nil {
		span.SetTag(string(spans.PeerAddress), peer)
	}
	return span
}

// open records d until it is settled. An auto-acknowledged delivery
// replaces (and ends) the previous one of the same consumer.
func (c *Channel) open(d *delivery, consumerTag string, autoAck bool) {
	var prev *delivery
	c.mu.Lock()
	if autoAck {
		if c.auto == nil {
			c.auto = make(map[string]*delivery)
		}
		prev = c.auto[consumerTag]
		c.auto[consumerTag] = d
		if prev != nil {
			c.unhold(prev)
		}
	} else {
		if c.unacked == nil {
			c.unacked = make(map[uint64]*delivery)
		}
		c.unacked[d.tag] = d
	}
	c.mu.Unlock()
	if prev != nil {
		prev.end("auto")
	}
}

// Settle ends the spans of the deliveries that an acknowledgement (how is
// "ack", "nack" or "reject") settles: deliveryTag, or with multiple every
// delivery up to it (all of them for tag 0).
func (c *Channel) Settle(deliveryTag uint64, multiple bool, how string) {
	defer spans.Guard("amqp ack")
	var done []*delivery
	c.mu.Lock()
	if multiple {
		for tag, d := range c.unacked {
			if tag <= deliveryTag || deliveryTag == 0 {
				done = append(done, d)
				delete(c.unacked, tag)
			}
		}
	} else if d, ok := c.unacked[deliveryTag]; ok {
		done = append(done, d)
		delete(c.unacked, deliveryTag)
	}
	for _, d := range done {
		c.unhold(d)
	}
	c.mu.Unlock()
	endAll(done, how)
}

// Closed ends every open consumer span of the channel, which is shutting
// down: no acknowledgement can come any more.
func (c *Channel) Closed() {
	defer spans.Guard("amqp close")
	var done []*delivery
	c.mu.Lock()
	for _, d := range c.unacked {
		done = append(done, d)
	}
	for _, d := range c.auto {
		done = append(done, d)
	}
	c.unacked, c.auto, c.consumers, c.held = nil, nil, nil, nil
	c.mu.Unlock()
	// Recent versions reopen a channel after a failure, possibly on
	// another connection: read the address again.
	c.peer.Store(nil)
	endAll(done, "closed")
}

// unhold forgets that a goroutine holds d's span. c.mu is held.
func (c *Channel) unhold(d *delivery) {
	if !d.held {
		return
	}
	for i, h := range c.held {
		if h == d {
			c.held = append(c.held[:i], c.held[i+1:]...)
			return
		}
	}
}

// endAll ends spans newest first, so that a goroutine holding several
// returns to the span it had before the first.
func endAll(done []*delivery, how string) {
	sort.Slice(done, func(i, j int) bool { return done[i].tag > done[j].tag })
	for _, d := range done {
		d.end(how)
	}
}

func (d *delivery) end(how string) {
	d.span.SetTag(tagSettle, how)
	// Only the goroutine whose current span this is gets its previous one
	// back: acknowledging from another goroutine changes nothing there.
	if d.held {
		spans.HandBack(d.span, d.prev)
	}
	d.span.Finish()
}

// Now is the start time of a Get, taken on entry so that the consumer span
// covers the round trip.
func Now() time.Time { return time.Now() }

// mapKey is the identity of a map (nil for a nil map).
func mapKey(m map[string]any) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&m))
}

// clone copies headers into a new, never nil table with room for the trace
// context.
func clone(headers map[string]any) map[string]any {
	cp := make(map[string]any, len(headers)+2)
	for k, v := range headers {
		cp[k] = v
	}
	return cp
}

// table adapts an AMQP header table to opentracing's TextMap carrier:
// the trace context travels as string values; other values are the
// program's own and are skipped when reading.
type table map[string]any

func (t table) Set(key, val string) { t[key] = val }

func (t table) ForeachKey(handler func(key, val string) error) error {
	for k, v := range t {
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case []byte:
			s = string(v)
		default:
			continue
		}
		if err := handler(k, s); err != nil {
			return err
		}
	}
	return nil
}
