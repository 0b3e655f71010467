package export

import (
	"io"
	"sync"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
)

// Default bounds of a Console's buffer. A console is a development aid; when
// a program makes traces faster than they finish, losing some (and saying
// how many) beats growing without limit.
const (
	ConsoleMaxTraces        = 1000  // traces held at once
	ConsoleMaxSpansPerTrace = 1000  // finished spans held per trace
	consoleMaxOpen          = 10000 // started, unfinished spans remembered in all
)

// Console is a jaeger.Reporter that prints each trace as an indented tree
// (see WriteTree) once the trace's local root finishes.
//
// The local root is the span whose parent is not among this process's spans
// of the trace: a true root, or the server span of a request whose caller is
// in another process. Finished spans wait in a buffer until then. Spans that
// finish after their local root are printed with the trace's next tree, or
// at Close.
//
// To know which spans are this process's, Console is also a
// jaeger.ContribObserver: register it with
// jaeger.TracerOptions.ContribObserver and it remembers the spans that start.
// Without that, it falls back to jaeger's own rule for a span that is first
// in its process: no parent, or span.kind server (or consumer).
//
// Printing happens on the goroutine that finishes the local root, in one
// Write per tree; a tree never interleaves with another.
type Console struct {
	w io.Writer

	maxTraces        int
	maxSpansPerTrace int
	maxOpen          int

	mu       sync.Mutex
	traces   map[jaeger.TraceID]*consoleTrace
	open     int // started spans remembered, over all traces
	buffered int // finished spans waiting to print, over all traces
	dropped  int64
	closed   bool

	writeMu sync.Mutex // one tree at a time on w
}

// consoleTrace is what a Console holds of one trace.
type consoleTrace struct {
	open  map[jaeger.SpanID]struct{} // started here, not finished yet
	known map[jaeger.SpanID]struct{} // finished here, printed or not
	spans []Span                     // finished, not printed yet
}

// NewConsole returns a Console printing to w (os.Stderr in a traced program).
func NewConsole(w io.Writer) *Console {
	return &Console{
		w:                w,
		maxTraces:        ConsoleMaxTraces,
		maxSpansPerTrace: ConsoleMaxSpansPerTrace,
		maxOpen:          consoleMaxOpen,
		traces:           make(map[jaeger.TraceID]*consoleTrace),
	}
}

// OnStartSpan implements jaeger.ContribObserver: it notes that the span
// started in this process. It never observes the span further.
func (c *Console) OnStartSpan(sp opentracing.Span, _ string, _ opentracing.StartSpanOptions) (jaeger.ContribSpanObserver, bool) {
	js, ok := sp.(*jaeger.Span)
	if !ok || js == nil {
		return nil, false
	}
	ctx := js.SpanContext()
	if !ctx.IsSampled() {
		return nil, false // never reported, so never removed from open
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.open >= c.maxOpen {
		return nil, false // the span will be judged by the fallback rule
	}
	t := c.traceLocked(ctx.TraceID())
	if t == nil {
		return nil, false
	}
	if _, dup := t.open[ctx.SpanID()]; !dup {
		t.open[ctx.SpanID()] = struct{}{}
		c.open++
	}
	return nil, false
}

// Report implements jaeger.Reporter.
func (c *Console) Report(js *jaeger.Span) {
	if js == nil {
		return
	}
	defer func() { _ = recover() }() // a tracing bug must not take down the program
	ctx := js.SpanContext()
	s := FromJaeger(js)
	if out := c.add(ctx.TraceID(), ctx.SpanID(), ctx.ParentID(), s); out != nil {
		c.print(out)
	}
}

// add buffers s and, when s is a local root, returns the trace's buffered
// spans for printing.
func (c *Console) add(tid jaeger.TraceID, sid, pid jaeger.SpanID, s Span) []Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	t := c.traceLocked(tid)
	if t == nil {
		c.dropped++
		return nil
	}
	_, observed := t.open[sid]
	if observed {
		delete(t.open, sid)
		c.open--
	}
	if len(t.known) < 4*c.maxSpansPerTrace {
		t.known[sid] = struct{}{}
	}

	var localRoot bool
	switch {
	case pid == 0:
		localRoot = true
	case observed:
		_, parentOpen := t.open[pid]
		_, parentDone := t.known[pid]
		localRoot = !parentOpen && !parentDone
	default:
		kind := s.Tags["span.kind"]
		localRoot = kind == "server" || kind == "consumer"
	}

	// A local root always gets in, so the tree it closes has its top.
	if len(t.spans) < c.maxSpansPerTrace || localRoot {
		t.spans = append(t.spans, s)
		c.buffered++
	} else {
		c.dropped++
	}
	if !localRoot {
		return nil
	}
	out := t.spans
	t.spans = nil
	c.buffered -= len(out)
	if len(t.open) == 0 {
		// Nothing of this trace is running here: a later span of it can only
		// come from a new request, which is a local root of its own.
		delete(c.traces, tid)
	}
	return out
}

// traceLocked returns the state of trace tid, making room for it if needed;
// nil when the buffer is full of traces that still hold spans.
func (c *Console) traceLocked(tid jaeger.TraceID) *consoleTrace {
	if t := c.traces[tid]; t != nil {
		return t
	}
	if len(c.traces) >= c.maxTraces && !c.evictIdleLocked() {
		return nil
	}
	t := &consoleTrace{
		open:  make(map[jaeger.SpanID]struct{}),
		known: make(map[jaeger.SpanID]struct{}),
	}
	c.traces[tid] = t
	return t
}

// evictIdleLocked forgets one trace that has nothing waiting to print (only
// spans that started and never finished, such as leaked spans), so such
// traces cannot fill the buffer for good. It reports whether it found one.
func (c *Console) evictIdleLocked() bool {
	for id, t := range c.traces {
		if len(t.spans) == 0 {
			c.open -= len(t.open)
			delete(c.traces, id)
			return true
		}
	}
	return false
}

func (c *Console) print(spans []Span) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = WriteTree(c.w, spans) // nowhere better to report a failing stderr
}

// Close prints every span still waiting, grouped by trace, and stops the
// Console: spans reported after Close are ignored. Close may be called more
// than once.
func (c *Console) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	var rest []Span
	for _, t := range c.traces {
		rest = append(rest, t.spans...)
	}
	c.traces = nil
	c.open, c.buffered = 0, 0
	c.mu.Unlock()
	if len(rest) > 0 {
		c.print(rest) // WriteTree orders traces by start, so map order does not show
	}
}

// Dropped is the number of spans not printed because the buffer was full.
func (c *Console) Dropped() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// Pending is the number of finished spans waiting to print.
func (c *Console) Pending() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(c.buffered)
}
