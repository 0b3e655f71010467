package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The load benchmark: a plain net/http server (bench/roundtrip/server),
// built plainly and with ottoolexec, under the load of a real HTTP load
// generator (github.com/rakyll/hey, built plainly), 8 requests at a time.
// It reports the per-request latency hey sees (p50, p99), the request
// rate and the server's peak RSS, for the plain server and for the traced
// one with each kind of reporting: the default run-time set-up of the
// benchmarks (null reporter), a trace file, and a Jaeger collector that
// is blackholed (accepts connections, never answers) or down (nothing
// listens): tracing must add no latency there beyond noise.

const heyModule = "github.com/rakyll/hey@v0.1.5"

// loadVariant is one way of running the server.
type loadVariant struct {
	Name string
	Desc string
	Bin  string
	Env  map[string]string
}

// loadRun is one hey run against one server.
type loadRun struct {
	P50, P99   float64 // seconds
	RPS        float64
	MaxRSSKB   int64 // of the server
	Requests   int   // answered with status 200
	ServerWall time.Duration
}

type loadResult struct {
	Variants    []*loadVariant
	Runs        map[string][]loadRun
	N, C        int
	Rounds      int
	Blackhole   string // its address
	SpansInFile int    // server spans the trace-file variant's last run wrote
}

func (b *bench) measureLoad(ctx context.Context) (*loadResult, error) {
	dir, err := os.MkdirTemp(b.tmp, "load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	env := envWith(os.Environ(), map[string]string{
		"GOFLAGS": "-buildvcs=false", "GOTOOLCHAIN": "local", "GOWORK": "off",
		"OTTOOLEXEC_CACHE": filepath.Join(dir, "otcache"), "GOBIN": dir,
	}, "OTTOOLEXEC_DISABLE", "OTTOOLEXEC_INTEGRATIONS", "OTTOOLEXEC_NESTED_ID")
	if _, err := runCmd(ctx, "installing hey ("+heyModule+"), plainly", dir, env, b.goCmd, "install", heyModule); err != nil {
		return nil, err
	}
	src := filepath.Join(b.root, "bench", "roundtrip")
	plain, traced := filepath.Join(dir, "server-plain"), filepath.Join(dir, "server-traced")
	if _, err := runCmd(ctx, "building the load server, plain", src, env, b.goCmd, "build", "-o", plain, "./server"); err != nil {
		return nil, err
	}
	if _, err := runCmd(ctx, "building the load server with ottoolexec", src, env, b.goCmd, "build", "-toolexec="+b.ottoolexec, "-o", traced, "./server"); err != nil {
		return nil, err
	}

	// A blackholed collector: it accepts connections and never reads or
	// answers. A collector that is down: a port nothing listens on.
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer hole.Close()
	var (
		mu   sync.Mutex
		held []net.Conn
	)
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	downAddr := down.Addr().String()
	down.Close()

	traceFile := filepath.Join(dir, "trace.jsonl")
	flush := map[string]string{"OTTOOLEXEC_FLUSH_TIMEOUT": "2s"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range flush {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	r := &loadResult{N: 3000, C: 8, Rounds: b.loadRounds, Runs: make(map[string][]loadRun), Blackhole: hole.Addr().String()}
	r.Variants = []*loadVariant{
		{Name: "plain", Desc: "server built plainly", Bin: plain},
		{Name: "traced", Desc: "built with ottoolexec; jaeger-client-go, null reporter (the benchmarks' default)", Bin: traced, Env: with()},
		{Name: "trace-file", Desc: "built with ottoolexec; spans written to OTTOOLEXEC_TRACE_FILE", Bin: traced, Env: with("OTTOOLEXEC_TRACE_FILE", traceFile)},
		{Name: "collector-blackholed", Desc: "built with ottoolexec; JAEGER_ENDPOINT at a listener that never answers", Bin: traced, Env: with("JAEGER_ENDPOINT", "http://"+r.Blackhole+"/api/traces")},
		{Name: "collector-down", Desc: "built with ottoolexec; JAEGER_ENDPOINT at a port nothing listens on", Bin: traced, Env: with("JAEGER_ENDPOINT", "http://"+downAddr+"/api/traces")},
	}
	hey := filepath.Join(dir, "hey")
	for round := range r.Rounds {
		var line []string
		for k := range r.Variants {
			v := r.Variants[(k+round)%len(r.Variants)]
			os.Remove(traceFile)
			run, err := b.loadOnce(ctx, dir, hey, v, r.N, r.C)
			if err != nil {
				return nil, fmt.Errorf("round %d of %s: %w", round+1, v.Name, err)
			}
			if v.Name == "trace-file" {
				r.SpansInFile = countLines(traceFile)
				if r.SpansInFile != r.N {
					return nil, fmt.Errorf("round %d of %s: %d spans in the trace file for %d requests", round+1, v.Name, r.SpansInFile, r.N)
				}
			}
			r.Runs[v.Name] = append(r.Runs[v.Name], run)
			line = append(line, fmt.Sprintf("%s p50 %.2f ms p99 %.2f ms", v.Name, run.P50*1e3, run.P99*1e3))
		}
		b.logf("  round %d/%d: %s", round+1, r.Rounds, strings.Join(line, ", "))
	}
	return r, nil
}

// loadOnce starts the server, runs hey against it, stops the server with
// SIGTERM and waits for it.
func (b *bench) loadOnce(ctx context.Context, dir, hey string, v *loadVariant, n, c int) (loadRun, error) {
	var run loadRun
	addrFile := filepath.Join(dir, "addr-"+v.Name)
	os.Remove(addrFile)
	srv := exec.CommandContext(ctx, v.Bin, "-addr-file", addrFile)
	srv.Env = runtimeEnv(v.Env)
	var stderr strings.Builder
	srv.Stderr = &stderr
	start := time.Now()
	if err := srv.Start(); err != nil {
		return run, err
	}
	defer srv.Process.Kill()
	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == ""; {
		if data, err := os.ReadFile(addrFile); err == nil && len(data) > 0 {
			addr = string(data)
		} else if time.Now().After(deadline) {
			return run, fmt.Errorf("the server did not write its address: %s", stderr.String())
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Not runCmd: it reaps every child of this program once the command
	// ends, the server included, which waits for its SIGTERM.
	h := exec.CommandContext(ctx, hey, "-n", fmt.Sprint(n), "-c", fmt.Sprint(c), "http://"+addr+"/item/42")
	out, err := h.Output()
	if err != nil {
		return run, fmt.Errorf("hey against %s: %v\n%s", v.Name, err, out)
	}
	if run, err = parseHey(string(out)); err != nil {
		return run, err
	}
	if run.Requests != n {
		return run, fmt.Errorf("hey: %d of %d requests answered 200:\n%s", run.Requests, n, out)
	}
	srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		return run, fmt.Errorf("server: %v: %s", err, stderr.String())
	}
	run.ServerWall = time.Since(start)
	if ru, ok := srv.ProcessState.SysUsage().(*syscall.Rusage); ok {
		run.MaxRSSKB = ru.Maxrss
	}
	return run, nil
}

var (
	heyPercentile = regexp.MustCompile(`(?m)^\s*(\d+)%+ in ([0-9.]+) secs`)
	heyRPS        = regexp.MustCompile(`(?m)^\s*Requests/sec:\s*([0-9.]+)`)
	heyStatus200  = regexp.MustCompile(`(?m)^\s*\[200\]\s+(\d+) responses`)
)

// parseHey reads the figures of hey's default report. (v0.1.5 prints its
// percentiles as "50%% in 0.0003 secs": to the tenth of a millisecond.)
func parseHey(out string) (loadRun, error) {
	var run loadRun
	for _, m := range heyPercentile.FindAllStringSubmatch(out, -1) {
		secs, _ := strconv.ParseFloat(m[2], 64)
		switch m[1] {
		case "50":
			run.P50 = secs
		case "99":
			run.P99 = secs
		}
	}
	if m := heyRPS.FindStringSubmatch(out); m != nil {
		run.RPS, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := heyStatus200.FindStringSubmatch(out); m != nil {
		run.Requests, _ = strconv.Atoi(m[1])
	}
	if run.P50 == 0 || run.P99 == 0 || run.RPS == 0 {
		return run, fmt.Errorf("hey's report lacks a figure (p50, p99 or requests/sec):\n%s", out)
	}
	return run, nil
}

func (r *loadResult) med(name string, f func(loadRun) float64) float64 {
	var xs []float64
	for _, run := range r.Runs[name] {
		xs = append(xs, f(run))
	}
	return median(xs)
}

func (b *bench) loadSection(s *strings.Builder, r *loadResult) {
	s.WriteString("### Server under load (hey)\n\n")
	fmt.Fprintf(s, "bench/roundtrip/server, a net/http server with a `GET /item/{id}` route and no tracing code, built plainly and with `-toolexec=ottoolexec`; `hey -n %d -c %d` (%s, built plainly) against it over loopback, a fresh server per run, stopped with SIGTERM after it. %d rounds, each running every variant once in a rotating order; medians. Latency is what hey measured per request, which it prints to the tenth of a millisecond. The trace-file variant's last run wrote %d server spans for %d requests (checked every round).\n\n",
		r.N, r.C, heyModule, r.Rounds, r.SpansInFile, r.N)
	s.WriteString("| variant | p50 | p99 | requests/s | server peak RSS | p50 / plain | p99 / plain |\n|---|---:|---:|---:|---:|---:|---:|\n")
	p50 := func(x loadRun) float64 { return x.P50 }
	p99 := func(x loadRun) float64 { return x.P99 }
	rps := func(x loadRun) float64 { return x.RPS }
	rss := func(x loadRun) float64 { return float64(x.MaxRSSKB) }
	for _, v := range r.Variants {
		fmt.Fprintf(s, "| %s: %s | %.2f ms | %.2f ms | %.0f | %.0f MB | %s | %s |\n", v.Name, v.Desc,
			r.med(v.Name, p50)*1e3, r.med(v.Name, p99)*1e3, r.med(v.Name, rps), r.med(v.Name, rss)/1024,
			ratio(r.med(v.Name, p50), r.med("plain", p50)), ratio(r.med(v.Name, p99), r.med("plain", p99)))
	}
	s.WriteString("\nEvery run (p50 / p99 in ms):\n\n")
	for _, v := range r.Variants {
		var xs []string
		for _, run := range r.Runs[v.Name] {
			xs = append(xs, fmt.Sprintf("%.2f/%.2f", run.P50*1e3, run.P99*1e3))
		}
		fmt.Fprintf(s, "- %s: %s\n", v.Name, strings.Join(xs, ", "))
	}
	s.WriteString("\n")
}
