package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
)

// TestJSONLConcurrentWriters stands in for several traced processes sharing
// one file: each has its own JSONL reporter on the same path and finishes
// spans from many goroutines. Every line must be one whole span.
func TestJSONLConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spans.jsonl")
	const (
		processes  = 3
		goroutines = 16
		perG       = 50 // stays under JSONLQueueSize even if the writer falls behind
	)
	var reporters []*JSONL
	var wg sync.WaitGroup
	for p := 0; p < processes; p++ {
		r, err := NewJSONL(path)
		if err != nil {
			t.Fatal(err)
		}
		reporters = append(reporters, r)
		tr := newTracer(t, fmt.Sprintf("proc-%d", p), r)
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < perG; i++ {
					sp := tr.StartSpan("work")
					// Long enough values that a torn write would show.
					sp.SetTag("db.statement", strings.Repeat(fmt.Sprintf("g%d-i%d ", g, i), 200))
					sp.SetTag("http.url", "/a?b=1&c=<2>")
					sp.Finish()
				}
			}(g)
		}
	}
	wg.Wait()
	for _, r := range reporters {
		r.Close()
		if r.Dropped() != 0 || r.Failed() != 0 || r.Err() != nil {
			t.Errorf("reporter dropped %d, failed %d, err %v", r.Dropped(), r.Failed(), r.Err())
		}
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatalf("file does not end with a whole line")
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if want := processes * goroutines * perG; len(lines) != want {
		t.Errorf("%d lines, want %d", len(lines), want)
	}
	for i, line := range lines {
		var s Span
		if err := json.Unmarshal(line, &s); err != nil {
			t.Fatalf("line %d is not a whole span: %v\n%.200s", i+1, err, line)
		}
		if s.Operation != "work" || len(s.TraceID) != 32 {
			t.Fatalf("line %d: %+v", i+1, s)
		}
	}
	if !bytes.Contains(data, []byte(`"/a?b=1&c=<2>"`)) {
		t.Errorf("URL was escaped in the file")
	}
}

// blockingWriter holds every Write until release is closed.
type blockingWriter struct {
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *blockingWriter) Close() error { return nil }

func TestJSONLDropsWhenQueueFull(t *testing.T) {
	w := &blockingWriter{release: make(chan struct{})}
	r := newJSONL("blocked", w, 2)
	for i := 0; i < 10; i++ {
		r.enqueue(Span{SpanID: fmt.Sprint(i)}) // must not wait for the writer
	}
	// One span may be in the writer's hands, two queued; the rest dropped.
	if d := r.Dropped(); d < 7 || d > 8 {
		t.Errorf("Dropped() = %d, want 7 or 8", d)
	}
	close(w.release)
	r.Close()
	if got := int64(strings.Count(w.buf.String(), "\n")); got+r.Dropped() != 10 {
		t.Errorf("wrote %d, dropped %d, of 10", got, r.Dropped())
	}
}

func TestJSONLCloseIsBounded(t *testing.T) {
	w := &blockingWriter{release: make(chan struct{})}
	defer close(w.release)
	r := newJSONL("stuck", w, 8)
	r.closeTimeout = 50 * time.Millisecond
	r.enqueue(Span{})
	r.Close() // returns though the writer never does
	r.Close() // and again
	r.enqueue(Span{})
	if r.Dropped() != 0 {
		t.Errorf("spans after Close counted as queue drops")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
func (failingWriter) Close() error              { return nil }

func TestJSONLWriteErrorNamesFile(t *testing.T) {
	r := newJSONL("/var/trace.jsonl", failingWriter{}, 8)
	r.enqueue(Span{})
	r.Close()
	if r.Failed() != 1 || r.Err() == nil || !strings.Contains(r.Err().Error(), "/var/trace.jsonl") {
		t.Errorf("Failed %d, Err %v", r.Failed(), r.Err())
	}
}

func TestNewJSONLErrorNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "spans.jsonl")
	_, err := NewJSONL(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("NewJSONL error %v does not name %s", err, path)
	}
}

// TestJSONLThroughTracerRoundTrip reads back what the reporter wrote from a
// real two-level trace.
func TestJSONLThroughTracerRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spans.jsonl")
	r, err := NewJSONL(path)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTracer(t, "api", r)
	root := tr.StartSpan("GET /", ext.SpanKindRPCServer)
	child := tr.StartSpan("child", opentracing.ChildOf(root.Context()))
	child.SetTag("error", true)
	child.Finish()
	root.Finish()
	r.Close()

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	spans, err := ReadJSONL(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 2 || spans[0].ParentID != spans[1].SpanID || spans[0].Tags["error"] != true || spans[1].Service != "api" {
		t.Errorf("read back %+v", spans)
	}
}
