package trace

import (
	"context"
	"net"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"

	"github.com/ottoolexec/ottoolexec/runtime/spans/spanstest"
)

func TestParseOKCodes(t *testing.T) {
	for _, tc := range []struct {
		list    string
		errors  []uint32
		normals []uint32
	}{
		{"", []uint32{1, 2, 5, 16, 17, 70}, []uint32{0}},
		{"NotFound, canceled", []uint32{2, 16}, []uint32{0, 1, 5}},
		{"5,Bogus,,16", []uint32{1}, []uint32{0, 5, 16}},
		{"deadline_exceeded", []uint32{1}, []uint32{4}},
	} {
		t.Run(tc.list, func(t *testing.T) {
			saved := okCodes
			defer func() { okCodes = saved }()
			okCodes = parseOKCodes(tc.list)
			for _, c := range tc.errors {
				if !isError(c) {
					t.Errorf("code %d is not an error", c)
				}
			}
			for _, c := range tc.normals {
				if isError(c) {
					t.Errorf("code %d is an error", c)
				}
			}
		})
	}
}

func TestSplitMethod(t *testing.T) {
	for full, want := range map[string][2]string{
		"/grpc.health.v1.Health/Check": {"grpc.health.v1.Health", "Check"},
		"/a/b/C":                       {"a/b", "C"},
		"Check":                        {"", "Check"},
	} {
		if s, m := splitMethod(full); s != want[0] || m != want[1] {
			t.Errorf("splitMethod(%q) = %q, %q, want %q", full, s, m, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { sink, _ = splitMethod("/grpc.health.v1.Health/Check") }); n != 0 {
		t.Errorf("splitMethod allocates %v times", n)
	}
}

func TestCodeName(t *testing.T) {
	if got := CodeName(5); got != "NotFound" {
		t.Errorf("CodeName(5) = %q", got)
	}
	if got := CodeName(42); got != "Code(42)" {
		t.Errorf("CodeName(42) = %q", got)
	}
}

// A client call and the server call it makes: the server span continues
// the trace the client injected, the status the server wrote reaches its
// span, and a second End of the client changes nothing.
func TestClientToServer(t *testing.T) {
	tr := spanstest.UseMock(t)
	parent := tr.StartSpan("job")
	ctx := opentracing.ContextWithSpan(context.Background(), parent)

	c, kv := StartClient(ctx, "/pkg.Svc/Get")
	if len(kv) == 0 || len(kv)%2 != 0 {
		t.Fatalf("metadata pairs %q", kv)
	}
	md := map[string][]string{"x-user": {"alice"}}
	for i := 0; i < len(kv); i += 2 {
		md[kv[i]] = append(md[kv[i]], kv[i+1])
	}
	callCtx := c.Within(ctx)
	if ClientOf(callCtx) != c {
		t.Fatal("ClientOf does not find the call in its context")
	}
	if ClientOf(ctx) != nil {
		t.Fatal("ClientOf finds a call in the program's context")
	}

	s := StartServer(context.Background(), "/pkg.Svc/Get", md, "127.0.0.1:5000")
	if opentracing.SpanFromContext(s) != s.Span() {
		t.Fatal("the handler's context does not carry the server span")
	}
	derived, cancel := context.WithCancel(s)
	defer cancel()
	ServerStatus(derived, 5, "no such thing")
	ServerStatus(derived, 0, "") // the first status counts
	s.End()

	c.End(5, "rpc error: code = NotFound desc = no such thing", "127.0.0.1:5000")
	c.End(0, "", "")
	parent.Finish()

	spans := tr.FinishedSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans finished, want 3: %v", len(spans), spans)
	}
	server, client := spans[0], spans[1]
	if server.ParentID != client.SpanContext.SpanID || client.ParentID != parent.(*mocktracer.MockSpan).SpanContext.SpanID {
		t.Errorf("parents: server's %d, client's %d", server.ParentID, client.ParentID)
	}
	for span, kind := range map[*mocktracer.MockSpan]string{server: "server", client: "client"} {
		for k, want := range map[string]any{
			"span.kind": kind, "component": "grpc", TagService: "pkg.Svc", TagMethod: "Get",
			TagStatusCode: "NotFound", "error": true, "peer.address": "127.0.0.1:5000",
		} {
			if got := span.Tag(k); got != want {
				t.Errorf("%s span: %s = %v, want %v", kind, k, got, want)
			}
		}
		if len(span.Logs()) != 1 {
			t.Errorf("%s span: %d logs, want 1", kind, len(span.Logs()))
		}
	}
	if got := server.Logs()[0].Fields[1].ValueString; got != "NotFound: no such thing" {
		t.Errorf("server log message = %q", got)
	}
}

// A server call whose status was never written ends without a code, and
// an OK status is no error.
func TestServerStatus(t *testing.T) {
	tr := spanstest.UseMock(t)
	s := StartServer(context.Background(), "/pkg.Svc/Get", nil, nil)
	s.End()
	s = StartServer(context.Background(), "/pkg.Svc/Put", nil, nil)
	ServerStatus(s, 0, "")
	s.End()
	ServerStatus(context.Background(), 2, "nobody's") // no call: ignored
	spans := tr.FinishedSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	if spans[0].Tag(TagStatusCode) != nil || spans[0].Tag("error") != nil || spans[0].Tag("peer.address") != nil {
		t.Errorf("unwritten status: tags %v", spans[0].Tags())
	}
	if spans[1].Tag(TagStatusCode) != "OK" || spans[1].Tag("error") != nil || spans[1].ParentID != 0 {
		t.Errorf("OK status: tags %v, parent %d", spans[1].Tags(), spans[1].ParentID)
	}
}

func TestPeerCache(t *testing.T) {
	var c PeerCache
	a := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	if got := c.Tag(a); got != "127.0.0.1:5000" {
		t.Errorf("Tag = %v", got)
	}
	if n := testing.AllocsPerRun(100, func() { c.Tag(a) }); n != 0 {
		t.Errorf("Tag of the same address allocates %v times", n)
	}
	b := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6000}
	if got := c.Tag(b); got != "127.0.0.1:6000" {
		t.Errorf("Tag of another address = %v", got)
	}
	if got := c.Tag(&net.UnixAddr{Name: "/tmp/s", Net: "unix"}); got != "/tmp/s" {
		t.Errorf("Tag of a Unix address = %v", got)
	}
}

var sink string

func TestOTLPExportNotTraced(t *testing.T) {
	if c, kv := StartClient(context.Background(), otlpExport); c != nil || kv != nil {
		t.Errorf("StartClient(%q) = %v, %v; want no call", otlpExport, c, kv)
	}
}
