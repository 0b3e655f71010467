// Package micro holds the micro-benchmarks of what ottoolexec's splices
// cost at run time. The bench driver (../main.go) builds this package's
// test binary twice, plainly and with -toolexec=ottoolexec, and runs both
// in turn; see ../README.md.
//
// The traced binary is run with tracing on (OTTOOLEXEC_CONSOLE=0: jaeger
// with a null reporter) and with OTTOOLEXEC_DISABLED=1 (no hook variable
// is set, the goroutine slot's accessors are not registered). Run plainly
// (go test -bench . here), nothing is spliced and every benchmark measures
// the standard library alone.
package micro

//lint:file-ignore SA1012 CurrentSpan(nil), the goroutine's span, is what is measured and checked

import (
	"context"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"

	"github.com/opentracing/opentracing-go"

	"github.com/ottoolexec/ottoolexec/runtime/ottrace"
)

var (
	sinkSpan    opentracing.Span
	sinkResp    *http.Response
	sinkHandler http.Handler
)

// withSpan makes a span current on the calling goroutine for the rest of
// the benchmark (a no-op unless the goroutine slot is spliced in and
// registered). A noop span: the slot holds any span the same way.
func withSpan(b *testing.B) {
	restore := ottrace.WithGoroutineSpan(opentracing.NoopTracer{}.StartSpan("bench"))
	b.Cleanup(restore)
}

// BenchmarkCurrentSpan is ottrace.CurrentSpan(nil): no context, so the
// answer comes from the goroutine's slot. nil-ctx/span has a span current;
// background-ctx asks with a context that carries no span, which looks in
// the context first and then in the slot.
func BenchmarkCurrentSpan(b *testing.B) {
	b.Run("nil-ctx/nospan", func(b *testing.B) {
		t := startCPU(true)
		for b.Loop() {
			sinkSpan = ottrace.CurrentSpan(nil)
		}
		t.stop(b)
	})
	b.Run("nil-ctx/span", func(b *testing.B) {
		withSpan(b)
		t := startCPU(true)
		for b.Loop() {
			sinkSpan = ottrace.CurrentSpan(nil)
		}
		t.stop(b)
	})
	b.Run("background-ctx/nospan", func(b *testing.B) {
		ctx := context.Background()
		t := startCPU(true)
		for b.Loop() {
			sinkSpan = ottrace.CurrentSpan(ctx)
		}
		t.stop(b)
	})
}

// BenchmarkGoroutine starts a goroutine that does nothing and waits for
// it to end: creation (newproc1, where the traced runtime copies the slot)
// and exit (gdestroy, where it clears it), one at a time.
func BenchmarkGoroutine(b *testing.B) {
	run := func(b *testing.B) {
		var wg sync.WaitGroup
		t := startCPU(false)
		for b.Loop() {
			wg.Add(1)
			go func() { wg.Done() }()
			wg.Wait()
		}
		t.stop(b)
	}
	b.Run("nospan", run)
	b.Run("span", func(b *testing.B) {
		withSpan(b)
		run(b)
	})
}

// stubTransport answers every request at once, without a network, so
// that Client.Do costs little besides the client's own path through the
// hooked function send.
type stubTransport struct{}

func (stubTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

// BenchmarkHookClientDo is http.Client.Do → Client.do → Client.send →
// send (hooked: the client span's prologue) → a stub RoundTripper.
func BenchmarkHookClientDo(b *testing.B) {
	c := &http.Client{Transport: stubTransport{}}
	req, err := http.NewRequest(http.MethodGet, "http://bench.invalid/users/7", nil)
	if err != nil {
		b.Fatal(err)
	}
	t := startCPU(true)
	for b.Loop() {
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		sinkResp = resp
	}
	t.stop(b)
}

// BenchmarkHookMuxHandler is ServeMux.Handler → ServeMux.findHandler
// (hooked: the route-naming prologue) on a mux with one pattern.
func BenchmarkHookMuxHandler(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(http.ResponseWriter, *http.Request) {})
	req, err := http.NewRequest(http.MethodGet, "http://bench.invalid/users/7", nil)
	if err != nil {
		b.Fatal(err)
	}
	t := startCPU(true)
	for b.Loop() {
		h, _ := mux.Handler(req)
		sinkHandler = h
	}
	t.stop(b)
}

// BenchmarkHookSignalNotify is os/signal.Notify (hooked: the prologue
// that tells the runtime which signals the program handles) for a signal
// the channel already gets, so it changes nothing after the first call.
func BenchmarkHookSignalNotify(b *testing.B) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	b.Cleanup(func() { signal.Stop(c) })
	t := startCPU(true)
	for b.Loop() {
		signal.Notify(c, syscall.SIGUSR1)
	}
	t.stop(b)
}
