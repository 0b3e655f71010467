package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uber/jaeger-client-go"
)

const (
	// JSONLQueueSize is how many finished spans a JSONL reporter holds while
	// its writer goroutine catches up; past that, spans are dropped and counted.
	JSONLQueueSize = 4096

	// JSONLCloseTimeout bounds Close: a file system that stops answering
	// (a hung network mount) must not hold the exiting program.
	JSONLCloseTimeout = 5 * time.Second
)

// JSONL is a jaeger.Reporter that appends one JSON object per finished span,
// one line each, to a file.
//
// Report only copies the span and queues it; a writer goroutine marshals and
// writes. The writer runs only while there is something to write and exits
// when the queue is empty, so an idle program holds no goroutine of ours
// (test binaries that check for leaked goroutines, like the standard
// library's, would count it). Each line goes out in a single write(2) on a
// file opened with O_APPEND, so several processes may share one file
// without tearing lines.
type JSONL struct {
	path         string
	out          io.WriteCloser
	queue        chan Span
	closeTimeout time.Duration

	writing   atomic.Bool // a writer goroutine is draining the queue
	writeMu   sync.Mutex  // one writer at a time: line and enc are shared
	line      bytes.Buffer
	enc       *json.Encoder
	outClosed bool // under writeMu
	closeOnce sync.Once
	closed    atomic.Bool

	dropped atomic.Int64 // spans refused because the queue was full
	failed  atomic.Int64 // spans whose write failed
	written atomic.Int64
	errMu   sync.Mutex
	err     error // first write or close error
}

// NewJSONL opens path for appending (creating it if needed). The error, from
// the open, names the path.
func NewJSONL(path string) (*JSONL, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err // *os.PathError: "open <path>: <reason>"
	}
	return newJSONL(path, f, JSONLQueueSize), nil
}

// newJSONL writes to out; tests use it to put a slow writer or a small queue
// under the reporter.
func newJSONL(path string, out io.WriteCloser, queueSize int) *JSONL {
	r := &JSONL{
		path:         path,
		out:          out,
		queue:        make(chan Span, queueSize),
		closeTimeout: JSONLCloseTimeout,
	}
	r.enc = json.NewEncoder(&r.line)
	r.enc.SetEscapeHTML(false)
	return r
}

// Path is the file the reporter appends to.
func (r *JSONL) Path() string { return r.path }

// Report implements jaeger.Reporter. It never waits: when the queue is full
// the span is dropped and counted in Dropped.
func (r *JSONL) Report(js *jaeger.Span) {
	if r.closed.Load() {
		return
	}
	defer func() { _ = recover() }() // a tracing bug must not take down the program
	r.enqueue(FromJaeger(js))
}

// enqueue queues an already converted span, with Report's rules, and makes
// sure a writer is running.
func (r *JSONL) enqueue(s Span) {
	if r.closed.Load() {
		return
	}
	select {
	case r.queue <- s:
	default:
		r.dropped.Add(1)
		return
	}
	if r.writing.CompareAndSwap(false, true) {
		go r.drain()
	}
}

// drain writes queued spans until the queue is empty, then exits.
func (r *JSONL) drain() {
	for {
		select {
		case s := <-r.queue:
			r.write(s)
			continue
		default:
		}
		r.writing.Store(false)
		// A span queued between the empty check and the Store found a
		// writer still running and did not start one: take it.
		if len(r.queue) == 0 || !r.writing.CompareAndSwap(false, true) {
			return
		}
	}
}

// Close writes what is queued, then closes the file. It returns after at most
// JSONLCloseTimeout even if the file does not take the writes; spans still
// queued then are lost. Close may be called more than once.
func (r *JSONL) Close() {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Take the writer's role, so no background writer holds a span
			// when the file closes: wait for a running one to finish.
			for !r.writing.CompareAndSwap(false, true) {
				time.Sleep(time.Millisecond)
			}
			for {
				select {
				case s := <-r.queue:
					r.write(s)
					continue
				default:
				}
				break
			}
			r.writeMu.Lock()
			defer r.writeMu.Unlock()
			r.outClosed = true
			if err := r.out.Close(); err != nil {
				r.setErr(fmt.Errorf("close %s: %w", r.path, err))
			}
		}()
		t := time.NewTimer(r.closeTimeout)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
		}
	})
}

// Dropped is the number of spans refused because the queue was full.
func (r *JSONL) Dropped() int64 { return r.dropped.Load() }

// Failed is the number of spans whose line could not be written; Err says why.
func (r *JSONL) Failed() int64 { return r.failed.Load() }

// Written is the number of spans written to the file.
func (r *JSONL) Written() int64 { return r.written.Load() }

// Pending is the number of spans queued and not yet written.
func (r *JSONL) Pending() int64 { return int64(len(r.queue)) }

// Err is the first error met writing or closing the file, naming the file.
func (r *JSONL) Err() error {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	return r.err
}

// write marshals s and appends it to the file as one line.
func (r *JSONL) write(s Span) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if r.outClosed {
		r.dropped.Add(1) // taken off the queue just as Close closed the file
		return
	}
	r.line.Reset()
	if err := r.enc.Encode(s); err != nil { // Encode ends the line with '\n'
		r.fail(fmt.Errorf("encode span %s of trace %s: %w", s.SpanID, s.TraceID, err))
		return
	}
	// One Write, hence one write(2) on an *os.File, per line: with
	// O_APPEND the kernel puts the whole line at the end of the file.
	if _, err := r.out.Write(r.line.Bytes()); err != nil {
		r.fail(fmt.Errorf("write %s: %w", r.path, err))
		return
	}
	r.written.Add(1)
}

func (r *JSONL) fail(err error) {
	r.failed.Add(1)
	r.setErr(err)
}

func (r *JSONL) setErr(err error) {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	if r.err == nil {
		r.err = err
	}
}
