package export

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
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
// Report only copies the span and queues it; one goroutine marshals and
// writes. Each line goes out in a single write(2) on a file opened with
// O_APPEND, so several processes may share one file without tearing lines.
type JSONL struct {
	path         string
	out          io.WriteCloser
	queue        chan Span
	closeTimeout time.Duration

	closing   chan struct{} // closed by Close: drain what is queued and stop
	finished  chan struct{} // closed by the writer goroutine when it is done
	closeOnce sync.Once
	closed    atomic.Bool

	dropped atomic.Int64 // spans refused because the queue was full
	failed  atomic.Int64 // spans whose write failed
	written atomic.Int64
	errMu   sync.Mutex
	err     error // first write or close error
}

// NewJSONL opens path for appending (creating it if needed) and starts the
// goroutine that writes to it. The error, from the open, names the path.
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
		closing:      make(chan struct{}),
		finished:     make(chan struct{}),
	}
	go r.run()
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

// enqueue queues an already converted span, with Report's rules.
func (r *JSONL) enqueue(s Span) {
	if r.closed.Load() {
		return
	}
	select {
	case r.queue <- s:
	default:
		r.dropped.Add(1)
	}
}

// Close writes what is queued, then closes the file. It returns after at most
// JSONLCloseTimeout even if the file does not take the writes; spans still
// queued then are lost. Close may be called more than once.
func (r *JSONL) Close() {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		close(r.closing)
	})
	t := time.NewTimer(r.closeTimeout)
	defer t.Stop()
	select {
	case <-r.finished:
	case <-t.C:
	}
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

func (r *JSONL) run() {
	defer close(r.finished)
	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	enc.SetEscapeHTML(false)
	write := func(s Span) {
		line.Reset()
		if err := enc.Encode(s); err != nil { // Encode ends the line with '\n'
			r.fail(fmt.Errorf("encode span %s of trace %s: %w", s.SpanID, s.TraceID, err))
			return
		}
		// One Write, hence one write(2) on an *os.File, per line: with
		// O_APPEND the kernel puts the whole line at the end of the file.
		if _, err := r.out.Write(line.Bytes()); err != nil {
			r.fail(fmt.Errorf("write %s: %w", r.path, err))
			return
		}
		r.written.Add(1)
	}
	for {
		select {
		case s := <-r.queue:
			write(s)
		case <-r.closing:
			for {
				select {
				case s := <-r.queue:
					write(s)
				default:
					if err := r.out.Close(); err != nil {
						r.setErr(fmt.Errorf("close %s: %w", r.path, err))
					}
					return
				}
			}
		}
	}
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

// maxJSONLLine bounds one line of ReadJSONL; a span with a huge statement or
// many logs still fits, a file that is not JSONL fails fast.
const maxJSONLLine = 64 << 20

// ReadJSONL reads spans written by JSONL (or by several processes sharing
// one file), one JSON object per line. Blank lines are skipped. A line that
// is not a span object fails the read with an error naming its line number;
// the spans read before it are returned with the error.
func ReadJSONL(r io.Reader) ([]Span, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxJSONLLine)
	var spans []Span
	n := 0 // number of the line last read
	for sc.Scan() {
		n++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		if text[0] != '{' {
			return spans, fmt.Errorf("line %d: not a JSON object", n)
		}
		var s Span
		if err := json.Unmarshal(text, &s); err != nil {
			return spans, fmt.Errorf("line %d: %w", n, err)
		}
		spans = append(spans, s)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return spans, fmt.Errorf("line %d: longer than %d bytes: %w", n+1, maxJSONLLine, err)
		}
		return spans, fmt.Errorf("line %d: %w", n+1, err)
	}
	return spans, nil
}
