// Package loop times one client operation against a real server, one call
// after another, and prints what a call costs as one JSON line. The
// programs of bench/clientops differ only in the operation they pass to
// Main and in how (or whether) it is traced.
package loop

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"syscall"
	"time"
)

// Op is one timed call; i counts the calls.
type Op func(ctx context.Context, i int) error

// Program is what a benchmark program passes to Main.
type Program struct {
	// Setup connects and returns the operation and a cleanup. It runs
	// after the flags are parsed.
	Setup func(ctx context.Context) (Op, func(), error)
	// Spans, if set, reports how many spans the program finished, for
	// -check; nil when the program does not know (ottoolexec's build
	// counts its spans in OTTOOLEXEC_TRACE_FILE instead).
	Spans func() int
}

// Result is one run's figures.
type Result struct {
	N           int     `json:"n"`
	NsPerOp     float64 `json:"ns_per_op"`
	CPUNsPerOp  float64 `json:"cpu_ns_per_op"`
	AllocsPerOp float64 `json:"allocs_per_op"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	Spans       int     `json:"spans"` // -1: the program does not know
}

// Main parses -n and -warmup, runs the loop and prints the Result.
func Main(p Program) {
	n := flag.Int("n", 5000, "calls to time")
	warmup := flag.Int("warmup", 500, "calls before timing")
	flag.Parse()
	log.SetFlags(0)

	ctx := context.Background()
	op, cleanup, err := p.Setup(ctx)
	if err != nil {
		log.Fatalf("setup: %v", err)
	}
	defer cleanup()
	for i := range *warmup {
		if err := op(ctx, i); err != nil {
			log.Fatalf("warm-up call %d: %v", i, err)
		}
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := cpuTime()
	start := time.Now()
	for i := range *n {
		if err := op(ctx, *warmup+i); err != nil {
			log.Fatalf("call %d: %v", i, err)
		}
	}
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&m1)
	res := Result{
		N:           *n,
		NsPerOp:     float64(wall.Nanoseconds()) / float64(*n),
		CPUNsPerOp:  float64(cpu.Nanoseconds()) / float64(*n),
		AllocsPerOp: float64(m1.Mallocs-m0.Mallocs) / float64(*n),
		BytesPerOp:  float64(m1.TotalAlloc-m0.TotalAlloc) / float64(*n),
		Spans:       -1,
	}
	if p.Spans != nil {
		res.Spans = p.Spans()
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	// Let a traced build flush on the way out, as it does at exit.
	os.Stdout.Sync()
}

// cpuTime is the process's user+system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Env returns the environment variable name, or def when it is unset.
func Env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
