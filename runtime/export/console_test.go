package export

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/uber/jaeger-client-go"
)

// syncBuffer is a bytes.Buffer safe for the goroutines of a test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// clock hands out start and finish times so durations print the same on
// every run.
type clock struct{ t time.Time }

func (c *clock) at(ms int) time.Time { return c.t.Add(time.Duration(ms) * time.Millisecond) }

func start(tr opentracing.Tracer, c *clock, ms int, op string, opts ...opentracing.StartSpanOption) opentracing.Span {
	return tr.StartSpan(op, append(opts, opentracing.StartTime(c.at(ms)))...)
}

func finish(sp opentracing.Span, c *clock, ms int) {
	sp.FinishWithOptions(opentracing.FinishOptions{FinishTime: c.at(ms)})
}

// remoteParent is the context a server span gets from another process.
func remoteParent() jaeger.SpanContext {
	return jaeger.NewSpanContext(jaeger.TraceID{High: 0x4bf92f3577b34da6, Low: 0xa3ce929d0e0e4736}, 0xc0ffee, 0, true, nil)
}

func TestConsolePrintsWhenLocalRootFinishes(t *testing.T) {
	var out syncBuffer
	con := NewConsole(&out)
	tr := newTracer(t, "payments", con, jaeger.TracerOptions.ContribObserver(con))
	c := &clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}

	server := start(tr, c, 0, "POST /charge", ext.RPCServerOption(remoteParent()),
		opentracing.Tags{"http.method": "POST", "http.url": "/charge"})
	query := start(tr, c, 1, "sql.query", opentracing.ChildOf(server.Context()),
		opentracing.Tags{"db.type": "sql", "db.statement": "SELECT 1"})
	finish(query, c, 3)
	if out.String() != "" {
		t.Fatalf("printed before the local root finished:\n%s", out.String())
	}
	ext.HTTPStatusCode.Set(server, 200)
	finish(server, c, 5)

	want := "trace 4bf92f3577b34da6a3ce929d0e0e4736 (2 spans)\n" +
		"  POST /charge [payments] 5.000ms span.kind=server http.method=POST http.url=/charge http.status_code=200\n" +
		"    sql.query [payments] 2.000ms db.type=sql db.statement=\"SELECT 1\"\n"
	if got := out.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if con.Pending() != 0 {
		t.Errorf("Pending() = %d after the tree printed", con.Pending())
	}
	con.Close()
	if got := out.String(); got != want {
		t.Errorf("Close printed again:\n%s", got)
	}
}

// An HTTP call a process makes to itself: its server span is a child of one
// of this process's spans, so the trace prints once, whole, at the real root.
func TestConsoleKeepsInProcessServerSpanInTree(t *testing.T) {
	var out syncBuffer
	con := NewConsole(&out)
	tr := newTracer(t, "loop", con, jaeger.TracerOptions.ContribObserver(con))
	c := &clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}

	root := start(tr, c, 0, "main")
	call := start(tr, c, 1, "HTTP GET", opentracing.ChildOf(root.Context()), ext.SpanKindRPCClient)
	server := start(tr, c, 2, "GET /self", ext.RPCServerOption(call.Context()))
	finish(server, c, 3)
	finish(call, c, 4)
	if out.String() != "" {
		t.Fatalf("printed a piece of the trace early:\n%s", out.String())
	}
	finish(root, c, 5)
	got := out.String()
	if strings.Count(got, "trace ") != 1 || !strings.Contains(got, "      GET /self [loop] 1.000ms span.kind=server") {
		t.Errorf("want one tree with GET /self three levels deep, got\n%s", got)
	}
}

// Without the observer the Console goes by jaeger's first-in-process rule.
func TestConsoleWithoutObserver(t *testing.T) {
	var out syncBuffer
	con := NewConsole(&out)
	tr := newTracer(t, "api", con)
	c := &clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}

	server := start(tr, c, 0, "GET /", ext.RPCServerOption(remoteParent()))
	child := start(tr, c, 1, "work", opentracing.ChildOf(server.Context()))
	finish(child, c, 2)
	if out.String() != "" {
		t.Fatalf("printed early:\n%s", out.String())
	}
	finish(server, c, 4)
	if got := out.String(); strings.Count(got, "\n") != 3 || !strings.Contains(got, "    work [api] 1.000ms") {
		t.Errorf("got\n%s", got)
	}
}

func TestConsoleLateSpanPrintsAtClose(t *testing.T) {
	var out syncBuffer
	con := NewConsole(&out)
	tr := newTracer(t, "svc", con, jaeger.TracerOptions.ContribObserver(con))
	c := &clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}

	root := start(tr, c, 0, "handler")
	async := start(tr, c, 1, "async", opentracing.FollowsFrom(root.Context()))
	finish(root, c, 2)
	first := out.String()
	if !strings.Contains(first, "(1 span)") {
		t.Fatalf("root tree not printed:\n%s", first)
	}
	finish(async, c, 10) // its parent is gone but was this process's: wait
	if out.String() != first {
		t.Fatalf("late span printed on its own:\n%s", out.String())
	}
	if con.Pending() != 1 {
		t.Errorf("Pending() = %d, want 1", con.Pending())
	}
	con.Close()
	rest := strings.TrimPrefix(out.String(), first)
	if !strings.HasPrefix(rest, "trace ") || !strings.Contains(rest, "  async [svc] 9.000ms") {
		t.Errorf("Close printed\n%s", rest)
	}
	finish(start(tr, c, 11, "after"), c, 12)
	if strings.Contains(out.String(), "after") {
		t.Errorf("span after Close printed")
	}
}

func TestConsoleBounds(t *testing.T) {
	var out syncBuffer
	con := NewConsole(&out)
	con.maxTraces = 1
	con.maxSpansPerTrace = 2
	tr := newTracer(t, "svc", con, jaeger.TracerOptions.ContribObserver(con))

	root := tr.StartSpan("root")
	for i := 0; i < 4; i++ {
		tr.StartSpan("child", opentracing.ChildOf(root.Context())).Finish()
	}
	other := tr.StartSpan("other trace") // no room: root's trace holds spans
	other.Finish()
	root.Finish()

	if got := con.Dropped(); got != 3 { // two children past the limit, one trace
		t.Errorf("Dropped() = %d, want 3", got)
	}
	if got := out.String(); !strings.Contains(got, "(3 spans)") || strings.Contains(got, "other trace") {
		t.Errorf("got\n%s", got)
	}
	// The trace's state is gone once printed; a new trace fits again.
	tr.StartSpan("next").Finish()
	if !strings.Contains(out.String(), "next") {
		t.Errorf("buffer did not free up:\n%s", out.String())
	}
}

func TestConsoleEvictsTracesThatOnlyHoldUnfinishedSpans(t *testing.T) {
	var out syncBuffer
	con := NewConsole(&out)
	con.maxTraces = 1
	tr := newTracer(t, "svc", con, jaeger.TracerOptions.ContribObserver(con))
	_ = tr.StartSpan("leaked") // never finished
	tr.StartSpan("fine").Finish()
	if !strings.Contains(out.String(), "fine") || con.Dropped() != 0 {
		t.Errorf("a leaked span blocked the console: dropped %d\n%s", con.Dropped(), out.String())
	}
}

func TestConsoleConcurrentTraces(t *testing.T) {
	var out syncBuffer
	con := NewConsole(&out)
	tr := newTracer(t, "svc", con, jaeger.TracerOptions.ContribObserver(con))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				root := tr.StartSpan("req", ext.SpanKindRPCServer)
				tr.StartSpan("db", opentracing.ChildOf(root.Context())).Finish()
				root.Finish()
			}
		}()
	}
	wg.Wait()
	con.Close()
	if got := strings.Count(out.String(), "(2 spans)\n  req [svc]"); got != 400 {
		t.Errorf("%d whole trees, want 400", got)
	}
}
