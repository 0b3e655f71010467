// Package trace is the runtime half of the nats integration: the code that
// ottoolexec splices into github.com/nats-io/nats.go calls it to make
// producer spans for publishes and requests and consumer spans for the
// messages subscriptions receive.
//
// It speaks only standard library types: a message's headers come as the
// encoded header block the library sends ([]byte) or as the decoded
// map[string][]string (nats.Header's underlying type), so that ottoolexec's
// module never requires nats.go and never raises the program's version.
package trace

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
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

const component = "nats"

// Tags of our own, beside the OpenTracing conventions.
const (
	tagReply        = "nats.reply"        // the reply subject of a message
	tagQueue        = "nats.queue"        // the queue group of a subscription
	tagSubscription = "nats.subscription" // a subscription's subject, when it differs from the message's
	tagStream       = "nats.stream"       // a JetStream publish: the stream that stored the message
	tagSeq          = "nats.seq"          // ... and its sequence number there
	tagDuplicate    = "nats.duplicate"    // ... set when the stream had it already
	// tagSettle says what ended a NextMsg consumer span: "ack", "nak",
	// "term" (a JetStream acknowledgement of the message), "next" (the
	// next NextMsg on the subscription) or "closed" (the subscription
	// ended first).
	tagSettle = "nats.settle"
)

// Conn is the tracing state of one NATS connection. ottoolexec adds it as a
// field to nats.Conn; its zero value is ready to use.
type Conn struct {
	peer atomic.Pointer[peer]
	last atomic.Pointer[destination] // of the last publish or request
}

// destination is what the spans of sends to one subject share: the
// operation name and the destination tag value, each built once. A
// program mostly sends to the same subject again and again, so the
// connection keeps the last one and a send to the same subject allocates
// none of it.
type destination struct {
	op, subj, inboxPrefix string
	name                  string
	tag                   any
}

// destinationOf returns the destination of op ("nats.publish",
// "nats.request") to subj, from the connection's last one when it matches.
func (c *Conn) destinationOf(op, subj, inboxPrefix string) *destination {
	if d := c.last.Load(); d != nil && d.subj == subj && d.op == op && d.inboxPrefix == inboxPrefix {
		return d
	}
	d := &destination{op: op, subj: subj, inboxPrefix: inboxPrefix, name: opName(op, subj, inboxPrefix), tag: subj}
	c.last.Store(d)
	return d
}

// peer is the server's address for one network connection, boxed once as
// the tag value.
type peer struct {
	conn net.Conn
	tag  any
}

// Peer returns the peer.address tag value for the connection conn (nil if
// there is none): the server's address as the socket knows it, which
// carries no credentials. It is read again after a reconnect.
func (c *Conn) Peer(conn net.Conn) (tag any) {
	defer spans.Guard("nats peer")
	if conn == nil {
		return nil
	}
	if p := c.peer.Load(); p != nil && p.conn == conn {
		return p.tag
	}
	addr := conn.RemoteAddr()
	if addr == nil {
		return nil
	}
	p := &peer{conn: conn, tag: addr.String()}
	c.peer.Store(p)
	return p.tag
}

// Protocol chatter that gets no span: JetStream acknowledgements (the
// consumer span of the message records them) and flow control replies.
var silentPrefixes = []string{"$JS.ACK.", "$JS.FC."}

func silent(subj string) bool {
	for _, p := range silentPrefixes {
		if strings.HasPrefix(subj, p) {
			return true
		}
	}
	return false
}

// opName is name and the subject, except that the random last tokens of an
// inbox subject (reply subjects) are folded into "*", so that replies do not
// make one operation name each.
func opName(name, subj, inboxPrefix string) string {
	if isInbox(subj, inboxPrefix) {
		if inboxPrefix == "" {
			inboxPrefix = defaultInboxPrefix
		}
		return name + " " + inboxPrefix + ".*"
	}
	if strings.HasPrefix(subj, jsAPI) {
		return name + " " + jsAPIName(subj)
	}
	return name + " " + subj
}

const jsAPI = "$JS.API."

// jsAPIName shortens a JetStream API subject to its leading upper-case
// tokens ("$JS.API.CONSUMER.CREATE" for
// "$JS.API.CONSUMER.CREATE.orders.x7Fq2a.orders.>"): the stream and
// consumer names that follow, ephemeral consumers' random ones included,
// stay in message_bus.destination.
func jsAPIName(subj string) string {
	end := len(jsAPI) - 1
	for end < len(subj) {
		next := strings.IndexByte(subj[end+1:], '.')
		if next < 0 {
			next = len(subj) - end - 1
		}
		token := subj[end+1 : end+1+next]
		if token == "" || strings.TrimLeft(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			break
		}
		end += 1 + next
	}
	return subj[:end]
}

// defaultInboxPrefix is nats.go's, for connections that set none.
const defaultInboxPrefix = "_INBOX"

// isInbox reports whether subj is an inbox subject of a connection whose
// inbox prefix is inboxPrefix ("" for the default).
func isInbox(subj, inboxPrefix string) bool {
	if inboxPrefix == "" {
		inboxPrefix = defaultInboxPrefix
	}
	return len(subj) > len(inboxPrefix) && subj[len(inboxPrefix)] == '.' && strings.HasPrefix(subj, inboxPrefix)
}

// Op is a producer span under way: a publish or a request. The zero value
// (no span) is for sends that get none.
type Op struct {
	span opentracing.Span
	key  unsafe.Pointer // for a request: the header block the publish recognizes
}

// Started reports whether there is a span to end.
func (o Op) Started() bool { return o.span != nil }

// Requests in progress, by the header block that their publish sends: the
// request's span covers its publish, which then starts none of its own.
var (
	requests   sync.Map // unsafe.Pointer (first byte of the header block) -> opentracing.Span
	inRequests atomic.Int64
)

// Publish starts the producer span of a message about to be published to
// subj (with reply subject reply, "" if none) and returns the header block
// to send instead of hdr: a new one holding hdr's headers and the trace
// context, when the server takes headers (withHeaders). The program's own
// headers are kept as they are; hdr itself is never changed. A publish
// that a request makes starts no span: the request's covers it.
func (c *Conn) Publish(subj, reply, inboxPrefix string, peer any, withHeaders bool, hdr []byte) (out []byte, o Op) {
	out = hdr
	defer spans.Guard("nats publish")
	if len(hdr) > 0 && inRequests.Load() > 0 {
		if s, ok := requests.Load(unsafe.Pointer(unsafe.SliceData(hdr))); ok {
			if reply != "" {
				s.(opentracing.Span).SetTag(tagReply, reply)
			}
			return hdr, Op{}
		}
	}
	if silent(subj) {
		return hdr, Op{}
	}
	span := startProducer(c.destinationOf("nats.publish", subj, inboxPrefix), reply, peer, spans.CurrentWithoutContext())
	if withHeaders {
		out = inject(span, hdr)
	}
	return out, Op{span: span}
}

// Request starts the span of a request to subj: a producer span (the
// request is a message that the responders' consumer spans follow from)
// that lasts until the reply arrives. ctx is the request's context, nil
// for the variants without one. It returns the header block to send, as
// Publish does; the publish that sends it starts no span of its own.
func (c *Conn) Request(ctx context.Context, subj, inboxPrefix string, peer any, withHeaders bool, hdr []byte) (out []byte, o Op) {
	out = hdr
	defer spans.Guard("nats request")
	if silent(subj) {
		return hdr, Op{}
	}
	var parent opentracing.Span
	if ctx != nil {
		parent = spans.Current(ctx)
	} else {
		parent = spans.CurrentWithoutContext()
	}
	span := startProducer(c.destinationOf("nats.request", subj, inboxPrefix), "", peer, parent)
	o.span = span
	if withHeaders {
		out = inject(span, hdr)
		if len(out) > 0 && unsafe.SliceData(out) != unsafe.SliceData(hdr) {
			o.key = unsafe.Pointer(unsafe.SliceData(out))
			requests.Store(o.key, span)
			inRequests.Add(1)
		}
	}
	return out, o
}

func startProducer(d *destination, reply string, peer any, parent opentracing.Span) opentracing.Span {
	tags := opentracing.Tags{
		string(spans.SpanKind):       string(ext.SpanKindProducerEnum),
		string(spans.Component):      component,
		string(spans.MessageBusDest): d.tag,
	}
	if reply != "" {
		tags[tagReply] = reply
	}
	if peer != nil {
		tags[string(spans.PeerAddress)] = peer
	}
	opts := []opentracing.StartSpanOption{tags}
	if parent != nil {
		opts = append(opts, opentracing.ChildOf(parent.Context()))
	}
	return spans.Tracer().StartSpan(d.name, opts...)
}

// End ends a publish's span with the publish's error.
func (o Op) End(err error) {
	defer spans.Guard("nats publish")
	fail(o.span, err)
	o.span.Finish()
}

// EndRequest ends a request's span with the request's error, or with the
// reply's payload: a reply that is a JetStream publish acknowledgement
// (the request was a JetStream publish) adds the stream and sequence.
func (o Op) EndRequest(reply []byte, err error) {
	defer spans.Guard("nats request")
	if o.key != nil {
		requests.Delete(o.key)
		inRequests.Add(-1)
	}
	if err == nil {
		pubAck(o.span, reply)
	}
	fail(o.span, err)
	o.span.Finish()
}

// pubAck tags span with a JetStream publish acknowledgement in reply.
func pubAck(span opentracing.Span, reply []byte) {
	if !bytes.HasPrefix(reply, []byte(`{"stream":`)) {
		return
	}
	var ack struct {
		Stream    string `json:"stream"`
		Seq       uint64 `json:"seq"`
		Duplicate bool   `json:"duplicate"`
	}
	if json.Unmarshal(reply, &ack) != nil || ack.Stream == "" {
		return
	}
	span.SetTag(tagStream, ack.Stream)
	span.SetTag(tagSeq, ack.Seq)
	if ack.Duplicate {
		span.SetTag(tagDuplicate, true)
	}
}

func fail(span opentracing.Span, err error) {
	if err != nil {
		spans.Error.Set(span, true)
		span.LogFields(log.String("event", "error"), log.String("message", err.Error()))
	}
}

// Handler is how a subscription's messages reach the program's callback.
type Handler struct {
	Subject, Queue, InboxPrefix string
}

// Consume starts the consumer span of a message handed to an asynchronous
// subscription's callback (subscribed to sub.Subject): it follows from the
// producer whose trace context the headers carry and is the goroutine's
// current span until the returned function, which ends it, is called. A
// status message of the server (no payload, a Status header: JetStream
// heartbeats, no-responders) gets none, and the function is nil.
func (h *Handler) Consume(subj, reply string, peer any, data []byte, headers map[string][]string) (end func()) {
	defer spans.Guard("nats consume")
	if isStatus(data, headers) {
		return nil
	}
	span := h.start("nats.consume", time.Time{}, subj, reply, peer, headers)
	restore := spans.SetGoroutineSpan(span)
	return func() {
		defer spans.Guard("nats consume")
		restore()
		span.Finish()
	}
}

func isStatus(data []byte, headers map[string][]string) bool {
	return len(data) == 0 && len(headers["Status"]) > 0
}

func (h *Handler) start(op string, start time.Time, subj, reply string, peer any, headers map[string][]string) opentracing.Span {
	tracer := spans.Tracer()
	tags := opentracing.Tags{
		string(spans.SpanKind):       string(ext.SpanKindConsumerEnum),
		string(spans.Component):      component,
		string(spans.MessageBusDest): subj,
	}
	if reply != "" {
		tags[tagReply] = reply
	}
	if h.Queue != "" {
		tags[tagQueue] = h.Queue
	}
	if h.Subject != subj {
		tags[tagSubscription] = h.Subject
	}
	if peer != nil {
		tags[string(spans.PeerAddress)] = peer
	}
	opts := []opentracing.StartSpanOption{tags}
	// Missing or malformed trace headers start a new trace.
	if len(headers) > 0 {
		if producer, err := tracer.Extract(opentracing.TextMap, header(headers)); err == nil && producer != nil {
			opts = append(opts, opentracing.FollowsFrom(producer))
		}
	}
	if !start.IsZero() {
		opts = append(opts, opentracing.StartTime(start))
	}
	// A subscription to an inbox (a JetStream push consumer's deliver
	// subject) is named after the subject the messages were published to.
	name := h.Subject
	if isInbox(name, h.InboxPrefix) {
		name = subj
	}
	return tracer.StartSpan(opName(op, name, h.InboxPrefix), opts...)
}

// Sub is the tracing state of one subscription that the program reads with
// NextMsg. ottoolexec adds it as a field to nats.Subscription; its zero
// value is ready to use.
type Sub struct {
	mu   sync.Mutex
	open *received
}

// received is the consumer span of the message NextMsg returned last.
type received struct {
	msg  unsafe.Pointer // the *nats.Msg
	span opentracing.Span
	// held: the goroutine that called NextMsg has span as its current
	// span, and had prev before.
	held bool
	prev opentracing.Span
}

// Next is called when NextMsg is entered: the previous message's span ends.
func (s *Sub) Next() {
	defer spans.Guard("nats next")
	s.settle(nil, "next")
}

// Received starts the consumer span of the message msg that NextMsg
// returned, for the subscription h describes. It stays the calling
// goroutine's current span until the message is acknowledged (JetStream),
// the next NextMsg, or the end of the subscription.
func (s *Sub) Received(h Handler, msg unsafe.Pointer, subj, reply string, peer any, data []byte, headers map[string][]string) {
	defer spans.Guard("nats next")
	if isStatus(data, headers) {
		return
	}
	r := &received{msg: msg, span: h.start("nats.receive", time.Time{}, subj, reply, peer, headers), held: spans.HasGoroutineSlot()}
	if r.held {
		r.prev = spans.GoroutineSpan()
		spans.SetGoroutineSpan(r.span)
	}
	s.mu.Lock()
	prev := s.open
	s.open = r
	s.mu.Unlock()
	if prev != nil {
		// Another goroutine's NextMsg raced this one.
		prev.end("next")
	}
}

// Acked is called when the program acknowledges msg (ackType is the
// JetStream acknowledgement sent: "+ACK", "-NAK ...", "+TERM", ...): the
// span of msg, if it is the open one, ends. A progress report ("+WPI")
// changes nothing.
func (s *Sub) Acked(msg unsafe.Pointer, ackType []byte) {
	defer spans.Guard("nats ack")
	var how string
	switch {
	case bytes.HasPrefix(ackType, []byte("+ACK")):
		how = "ack"
	case bytes.HasPrefix(ackType, []byte("-NAK")):
		how = "nak"
	case bytes.HasPrefix(ackType, []byte("+TERM")):
		how = "term"
	case bytes.HasPrefix(ackType, []byte("+NXT")):
		how = "ack"
	default:
		return
	}
	s.settle(msg, how)
}

// Closed ends the open span: the subscription is gone.
func (s *Sub) Closed() {
	defer spans.Guard("nats unsubscribe")
	s.settle(nil, "closed")
}

// settle ends the open span, if it is msg's (any message's for nil).
func (s *Sub) settle(msg unsafe.Pointer, how string) {
	s.mu.Lock()
	r := s.open
	if r == nil || (msg != nil && r.msg != msg) {
		s.mu.Unlock()
		return
	}
	s.open = nil
	s.mu.Unlock()
	r.end(how)
}

func (r *received) end(how string) {
	r.span.SetTag(tagSettle, how)
	// Only the goroutine whose current span this is gets its previous one
	// back: settling from another goroutine changes nothing there.
	if r.held {
		spans.HandBack(r.span, r.prev)
	}
	r.span.Finish()
}

// header adapts decoded NATS headers to opentracing's TextMap carrier.
type header map[string][]string

func (h header) Set(key, val string) { h[key] = []string{val} }

func (h header) ForeachKey(handler func(key, val string) error) error {
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		if err := handler(k, vs[0]); err != nil {
			return err
		}
	}
	return nil
}

// block collects the trace context to add to a header block.
type block []string

func (b *block) Set(key, val string) { *b = append(*b, key, val) }

const (
	hdrLine = "NATS/1.0"
	crlf    = "\r\n"
)

// inject returns a new header block: hdr's version line and headers, minus
// any of the keys the tracer writes (a forwarded message's old trace
// context), plus span's trace context. When hdr is not a header block it
// cannot extend, it returns hdr and logs why on the span.
func inject(span opentracing.Span, hdr []byte) []byte {
	var kv block
	if err := spans.Tracer().Inject(span.Context(), opentracing.TextMap, &kv); err != nil {
		span.LogFields(log.String("event", "inject failed"), log.Error(err))
		return hdr
	}
	if len(kv) == 0 {
		return hdr
	}
	first, rest := hdrLine, ""
	if len(hdr) > 0 {
		s := string(hdr)
		i := strings.Index(s, crlf)
		if !strings.HasPrefix(s, hdrLine) || i < 0 || !strings.HasSuffix(s, crlf+crlf) {
			span.LogFields(log.String("event", "inject failed"), log.String("message", "not a NATS header block"))
			return hdr
		}
		first, rest = s[:i], s[i+len(crlf):len(s)-len(crlf)]
	}
	n := len(first) + len(rest) + 2*len(crlf)
	for i := 0; i+1 < len(kv); i += 2 {
		n += len(kv[i]) + len(": ") + len(kv[i+1]) + len(crlf)
	}
	b := make([]byte, 0, n+len(crlf))
	b = append(append(b, first...), crlf...)
	for rest != "" {
		line, after, _ := strings.Cut(rest, crlf)
		rest = after
		if k, _, ok := strings.Cut(line, ":"); ok && ours(kv, k) {
			continue
		}
		b = append(append(b, line...), crlf...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		b = append(append(append(append(b, kv[i]...), ": "...), kv[i+1]...), crlf...)
	}
	return append(b, crlf...)
}

// ours reports whether key is one the tracer writes.
func ours(kv block, key string) bool {
	for i := 0; i < len(kv); i += 2 {
		if strings.EqualFold(kv[i], key) {
			return true
		}
	}
	return false
}
