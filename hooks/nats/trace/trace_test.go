package trace

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"

	"github.com/ottoolexec/ottoolexec/runtime/spans/spanstest"
)

// decode reads a header block as the library does (first line, then
// "key: value" lines up to an empty one).
func decode(t *testing.T, hdr []byte) (first string, h map[string][]string) {
	t.Helper()
	s := string(hdr)
	if !strings.HasSuffix(s, "\r\n\r\n") {
		t.Fatalf("header block %q does not end with an empty line", s)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\r\n\r\n"), "\r\n")
	h = map[string][]string{}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			t.Fatalf("bad header line %q in %q", l, s)
		}
		h[k] = append(h[k], v)
	}
	return lines[0], h
}

func spanID(t *testing.T, tr *mocktracer.MockTracer, h map[string][]string) int {
	t.Helper()
	ctx, err := tr.Extract(opentracing.TextMap, header(h))
	if err != nil {
		t.Fatalf("extract from %v: %v", h, err)
	}
	return ctx.(mocktracer.MockSpanContext).SpanID
}

func TestPublishNewHeaderBlock(t *testing.T) {
	tr := spanstest.UseMock(t)
	out, op := new(Conn).Publish("orders", "", "", "127.0.0.1:4222", true, nil)
	if !op.Started() {
		t.Fatal("no span")
	}
	op.End(nil)
	first, h := decode(t, out)
	if first != "NATS/1.0" {
		t.Errorf("first line %q", first)
	}
	s := spanstest.Finished(t, tr, "nats.publish orders")
	if got := spanID(t, tr, h); got != s.SpanContext.SpanID {
		t.Errorf("the sent headers name span %d, want %d", got, s.SpanContext.SpanID)
	}
	want := map[string]any{"span.kind": "producer", "component": "nats", "message_bus.destination": "orders", "peer.address": "127.0.0.1:4222"}
	for k, v := range want {
		if got := s.Tag(k); got != v {
			t.Errorf("tag %s = %v, want %v", k, got, v)
		}
	}
	if s.Tag("error") != nil || s.Tag(tagReply) != nil {
		t.Errorf("unexpected tags %v", s.Tags())
	}
}

func TestPublishKeepsTheProgramsHeaders(t *testing.T) {
	tr := spanstest.UseMock(t)
	// A forwarded message: the program's header, a value with a colon, and
	// the trace context of the message it came with, which is replaced.
	in := "NATS/1.0\r\nX-App: hello\r\nMockpfx-Ids-Spanid: 999\r\nUrl: http://x\r\nX-App: again\r\n\r\n"
	hdr := []byte(in)
	out, op := new(Conn).Publish("orders", "replies", "", nil, true, hdr)
	op.End(errors.New("nats: connection closed"))
	if string(hdr) != in {
		t.Errorf("the program's header block changed: %q", hdr)
	}
	_, h := decode(t, out)
	if got := h["X-App"]; len(got) != 2 || got[0] != "hello" || got[1] != "again" {
		t.Errorf("X-App = %q", got)
	}
	if got := h["Url"]; len(got) != 1 || got[0] != "http://x" {
		t.Errorf("Url = %q", got)
	}
	if len(h["Mockpfx-Ids-Spanid"]) != 0 || len(h["mockpfx-ids-spanid"]) != 1 {
		t.Errorf("the old trace context is still there: %v", h)
	}
	s := spanstest.Finished(t, tr, "nats.publish orders")
	if s.Tag("error") != true || s.Tag(tagReply) != "replies" || s.Tag("peer.address") != nil {
		t.Errorf("tags %v", s.Tags())
	}
	if len(s.Logs()) != 1 || s.Logs()[0].Fields[1].ValueString != "nats: connection closed" {
		t.Errorf("logs %v", s.Logs())
	}
}

func TestPublishWithoutHeaderSupport(t *testing.T) {
	tr := spanstest.UseMock(t)
	out, op := new(Conn).Publish("orders", "", "", nil, false, nil)
	if out != nil {
		t.Errorf("headers sent to a server that takes none: %q", out)
	}
	op.End(nil)
	spanstest.Finished(t, tr, "nats.publish orders")
}

func TestPublishLeavesABadBlockAlone(t *testing.T) {
	tr := spanstest.UseMock(t)
	hdr := []byte("HTTP/1.1\r\n\r\n")
	out, op := new(Conn).Publish("orders", "", "", nil, true, hdr)
	op.End(nil)
	if string(out) != string(hdr) {
		t.Errorf("sent %q", out)
	}
	if s := spanstest.Finished(t, tr, "nats.publish orders"); len(s.Logs()) != 1 {
		t.Errorf("logs %v", s.Logs())
	}
}

func TestSilentSubjects(t *testing.T) {
	spanstest.UseMock(t)
	for _, subj := range []string{"$JS.ACK.S.C.1.1.1.1.0", "$JS.FC.S.x.y"} {
		if _, op := new(Conn).Publish(subj, "", "", nil, true, nil); op.Started() {
			t.Errorf("a span for %s", subj)
		}
		if _, op := new(Conn).Request(context.TODO(), subj, "", nil, true, nil); op.Started() {
			t.Errorf("a request span for %s", subj)
		}
	}
}

func TestRequestCoversItsPublish(t *testing.T) {
	tr := spanstest.UseMock(t)
	parent := tr.StartSpan("checkout")
	ctx := opentracing.ContextWithSpan(context.Background(), parent)
	out, op := new(Conn).Request(ctx, "svc.price", "", "127.0.0.1:4222", true, nil)
	sent, pub := new(Conn).Publish("svc.price", "_INBOX.abc.def", "", nil, true, out)
	if pub.Started() || unsafe.SliceData(sent) != unsafe.SliceData(out) {
		t.Fatal("the request's publish started a span of its own or changed the headers")
	}
	op.EndRequest([]byte(`{"stream":"ORDERS","seq":42}`), nil)
	if n := inRequests.Load(); n != 0 {
		t.Errorf("%d requests still registered", n)
	}
	s := spanstest.Finished(t, tr, "nats.request svc.price")
	if s.ParentID != parent.(*mocktracer.MockSpan).SpanContext.SpanID {
		t.Errorf("parent %d", s.ParentID)
	}
	want := map[string]any{"span.kind": "producer", "component": "nats", "message_bus.destination": "svc.price",
		tagReply: "_INBOX.abc.def", tagStream: "ORDERS", tagSeq: uint64(42)}
	for k, v := range want {
		if got := s.Tag(k); got != v {
			t.Errorf("tag %s = %v (%T), want %v", k, got, got, v)
		}
	}
	_, h := decode(t, out)
	if spanID(t, tr, h) != s.SpanContext.SpanID {
		t.Error("the request's headers do not name its span")
	}
	// After the request, a publish of the same block is a publish again.
	if _, pub := new(Conn).Publish("svc.price", "", "", nil, true, out); !pub.Started() {
		t.Error("no span for a publish after the request ended")
	}
}

func TestRequestError(t *testing.T) {
	tr := spanstest.UseMock(t)
	_, op := new(Conn).Request(context.TODO(), "nobody", "", nil, true, nil)
	op.EndRequest(nil, errors.New("nats: no responders available for request"))
	s := spanstest.Finished(t, tr, "nats.request nobody")
	if s.Tag("error") != true || s.Tag(tagStream) != nil {
		t.Errorf("tags %v", s.Tags())
	}
}

func TestOpName(t *testing.T) {
	for _, c := range []struct{ subj, prefix, want string }{
		{"orders", "", "nats.publish orders"},
		{"_INBOX.abc.def", "", "nats.publish _INBOX.*"},
		{"_INBOXES", "", "nats.publish _INBOXES"},
		{"my.inbox.abc", "my.inbox", "nats.publish my.inbox.*"},
		{"_INBOX.abc", "my.inbox", "nats.publish _INBOX.abc"},
		{"$JS.API.CONSUMER.CREATE.S_1.x7Fq2a.orders.>", "", "nats.publish $JS.API.CONSUMER.CREATE"},
		{"$JS.API.CONSUMER.MSG.NEXT.ORDERS.worker", "", "nats.publish $JS.API.CONSUMER.MSG.NEXT.ORDERS"},
		{"$JS.API.STREAM.NAMES", "", "nats.publish $JS.API.STREAM.NAMES"},
		{"$JS.API.", "", "nats.publish $JS.API"},
	} {
		if got := opName("nats.publish", c.subj, c.prefix); got != c.want {
			t.Errorf("opName(%q, %q) = %q, want %q", c.subj, c.prefix, got, c.want)
		}
	}
}

func TestConsume(t *testing.T) {
	tr := spanstest.UseMock(t)
	out, op := new(Conn).Publish("svc.price", "_INBOX.a.b", "", nil, true, []byte("NATS/1.0\r\nX-App: 1\r\n\r\n"))
	op.End(nil)
	_, h := decode(t, out)
	handler := &Handler{Subject: "svc.*", Queue: "workers"}
	end := handler.Consume("svc.price", "_INBOX.a.b", "127.0.0.1:4222", []byte("socks"), h)
	if end == nil {
		t.Fatal("no span")
	}
	// A status message of the server gets none.
	if handler.Consume("svc.price", "", nil, nil, map[string][]string{"Status": {"100"}}) != nil {
		t.Error("a span for a status message")
	}
	end()
	p := spanstest.Finished(t, tr, "nats.publish svc.price")
	s := spanstest.Finished(t, tr, "nats.consume svc.*")
	if s.ParentID != p.SpanContext.SpanID || s.SpanContext.TraceID != p.SpanContext.TraceID {
		t.Errorf("consumer %d/%d does not follow producer %d/%d", s.SpanContext.TraceID, s.ParentID, p.SpanContext.TraceID, p.SpanContext.SpanID)
	}
	want := map[string]any{"span.kind": "consumer", "component": "nats", "message_bus.destination": "svc.price",
		tagReply: "_INBOX.a.b", tagQueue: "workers", tagSubscription: "svc.*", "peer.address": "127.0.0.1:4222"}
	for k, v := range want {
		if got := s.Tag(k); got != v {
			t.Errorf("tag %s = %v, want %v", k, got, v)
		}
	}
}

func TestConsumeWithoutContextStartsATrace(t *testing.T) {
	tr := spanstest.UseMock(t)
	end := (&Handler{Subject: "_INBOX.x"}).Consume("orders", "", nil, []byte("x"), map[string][]string{"mockpfx-ids-traceid": {"junk"}})
	end()
	// An inbox subscription (a JetStream deliver subject) is named after
	// the message's subject.
	s := spanstest.Finished(t, tr, "nats.consume orders")
	if s.ParentID != 0 {
		t.Errorf("parent %d", s.ParentID)
	}
}

func TestNextMsgSpans(t *testing.T) {
	tr := spanstest.UseMock(t)
	var sub Sub
	h := Handler{Subject: "jobs"}
	m1, m2, other := new(int), new(int), new(int)
	sub.Next()
	sub.Received(h, unsafe.Pointer(m1), "jobs", "", nil, []byte("1"), nil)
	sub.Next()
	sub.Received(h, unsafe.Pointer(m2), "jobs", "$JS.ACK.x", nil, []byte("2"), nil)
	sub.Acked(unsafe.Pointer(other), []byte("+ACK"))
	sub.Acked(unsafe.Pointer(m2), []byte("+WPI"))
	if n := len(tr.FinishedSpans()); n != 1 {
		t.Fatalf("%d spans finished, want 1", n)
	}
	sub.Acked(unsafe.Pointer(m2), []byte("-NAK {\"delay\": 1}"))
	sub.Closed()
	spans := tr.FinishedSpans()
	if len(spans) != 2 || spans[0].Tag(tagSettle) != "next" || spans[1].Tag(tagSettle) != "nak" {
		t.Fatalf("spans %v", spans)
	}
	sub.Received(h, unsafe.Pointer(m1), "jobs", "", nil, []byte("3"), nil)
	sub.Closed()
	if spans := tr.FinishedSpans(); len(spans) != 3 || spans[2].Tag(tagSettle) != "closed" || spans[2].OperationName != "nats.receive jobs" {
		t.Fatalf("spans %v", spans)
	}
}

func TestDestinationCache(t *testing.T) {
	var c Conn
	a := c.destinationOf("nats.publish", "orders", "")
	if b := c.destinationOf("nats.publish", "orders", ""); b != a {
		t.Error("a second publish to the same subject built its names again")
	}
	if b := c.destinationOf("nats.request", "orders", ""); b == a || b.name != "nats.request orders" {
		t.Errorf("a request got the publish's destination %+v", b)
	}
	if b := c.destinationOf("nats.publish", "_INBOX.a.b", ""); b.name != "nats.publish _INBOX.*" || b.tag != "_INBOX.a.b" {
		t.Errorf("destination %+v", b)
	}
}
