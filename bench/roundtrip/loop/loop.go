// Package loop runs HTTP round trips over loopback, one after another on a
// keep-alive connection, and prints what they cost. The plain and the
// hand-instrumented program differ only in the wrappers they pass to Main.
package loop

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// Config is what a program adds around the shared server and client.
type Config struct {
	// Handler wraps the server's handler; nil leaves it alone.
	Handler func(http.Handler) http.Handler
	// Transport wraps the client's transport; nil leaves it alone.
	Transport func(http.RoundTripper) http.RoundTripper
	// Send sends req and returns the response; nil is c.Do. The loop
	// drains and closes the body, then calls done if Send returned one.
	Send func(c *http.Client, req *http.Request) (resp *http.Response, done func(), err error)
	// Spans, if set, reports how many spans the program finished (for -check).
	Spans func() int
}

// Result is one run's figures, printed as one JSON line.
type Result struct {
	N           int     `json:"n"`
	NsPerOp     float64 `json:"ns_per_op"`
	CPUNsPerOp  float64 `json:"cpu_ns_per_op"`
	AllocsPerOp float64 `json:"allocs_per_op"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	Traced      int64   `json:"traced"` // requests that reached the server with an uber-trace-id header
	Spans       int     `json:"spans"`  // spans the program counted itself, -1 if it does not know
}

// Main parses the flags, runs the loop and prints the Result.
func Main(cfg Config) {
	n := flag.Int("n", 20000, "round trips to time")
	warmup := flag.Int("warmup", 2000, "round trips before timing")
	flag.Parse()
	log.SetFlags(0)

	var traced atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Uber-Trace-Id") != "" {
			traced.Add(1)
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
	})
	var handler http.Handler = mux
	if cfg.Handler != nil {
		handler = cfg.Handler(mux)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go srv.Serve(ln)

	var rt http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()
	if cfg.Transport != nil {
		rt = cfg.Transport(rt)
	}
	client := &http.Client{Transport: rt}
	url := "http://" + ln.Addr().String() + "/work"
	send := cfg.Send
	if send == nil {
		send = func(c *http.Client, req *http.Request) (*http.Response, func(), error) {
			resp, err := c.Do(req)
			return resp, nil, err
		}
	}
	ctx := context.Background()
	once := func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			log.Fatal(err)
		}
		resp, done, err := send(client, req)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			log.Fatalf("status %d", resp.StatusCode)
		}
		if done != nil {
			done()
		}
	}

	for range *warmup {
		once()
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	var u0, u1 syscall.Rusage
	runtime.ReadMemStats(&m0)
	syscall.Getrusage(syscall.RUSAGE_SELF, &u0)
	t0 := time.Now()
	for range *n {
		once()
	}
	elapsed := time.Since(t0)
	syscall.Getrusage(syscall.RUSAGE_SELF, &u1)
	runtime.ReadMemStats(&m1)

	ctxShut, cancel := context.WithTimeout(ctx, 5*time.Second)
	srv.Shutdown(ctxShut)
	cancel()

	per := float64(*n)
	res := Result{
		N:           *n,
		NsPerOp:     float64(elapsed.Nanoseconds()) / per,
		CPUNsPerOp:  float64(cpu(u1)-cpu(u0)) / per,
		AllocsPerOp: float64(m1.Mallocs-m0.Mallocs) / per,
		BytesPerOp:  float64(m1.TotalAlloc-m0.TotalAlloc) / per,
		Traced:      traced.Load(),
		Spans:       -1,
	}
	if cfg.Spans != nil {
		res.Spans = cfg.Spans()
	}
	out, _ := json.Marshal(res)
	fmt.Fprintln(os.Stdout, string(out))
}

func cpu(u syscall.Rusage) int64 {
	return u.Utime.Nano() + u.Stime.Nano()
}
