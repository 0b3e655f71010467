package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// clientBench is one per-operation benchmark of bench/clientops: a client
// library's call against the real server on this machine, timed plainly,
// hand-instrumented with a well-known tracing wrapper, and built with the
// injector. Each integration that has a run-time target adds one.
type clientBench struct {
	Name     string // short name, used in file and benchmark names
	Title    string // section heading
	Service  string // host:port of the real server it needs; "" for none
	About    string // what one operation is, and how the hand variant traces it
	Plain    string // package of the untraced program (also built with the injector)
	Hand     string // package of the hand-instrumented program
	Variants []*variant
	// OpName is the operation of the span the injector makes per call
	// (or its first word, when a destination follows), counted in the
	// check run.
	OpName string
	// OpSpans is how many OpName spans the injector makes per call (a
	// client and a server span for gRPC, whose server runs in the
	// program); 0 means 1.
	OpSpans int
	// HandSpans says how many spans per call each hand variant is expected
	// to finish (at least), for the check run.
	HandSpans map[string]int
	Target    string // the hand variant the target is measured against
}

var clientBenches = []*clientBench{{
	Name:    "sql",
	Title:   "SQL queries on PostgreSQL (database/sql, lib/pq v1.10.9)",
	Service: "127.0.0.1:5432",
	About: "One call: `db.QueryRowContext(ctx, \"SELECT $1::int + 1\", i).Scan(&n)` on the real PostgreSQL over TCP on 127.0.0.1, one connection kept open. " +
		"Hand-instrumented: lib/pq's driver wrapped by `github.com/luna-duclos/instrumentedsql` v1.1.3 with its OpenTracing tracer (`NewTracer(true)`: statements without a parent span traced too; arguments omitted). " +
		"With its defaults it makes a `sql-conn-query` span and a `sql-rows-next` span per `Next` (two per query here); `hand-norowsnext` excludes the latter, one span per query as the injector makes.",
	Plain: "./sqlplain",
	Hand:  "./sqlhand",
	Variants: []*variant{
		{Name: "untraced", Desc: "plain program, built plainly: no tracing"},
		{Name: "hand", Desc: "instrumentedsql, library defaults (per-row spans on)"},
		{Name: "hand-norowsnext", Desc: "instrumentedsql without per-row spans", Args: []string{"-rowsnext=false"}},
		{Name: "ottoolexec", Desc: "plain program built with -toolexec=ottoolexec, no tracing code in the source"},
	},
	OpName:    "SELECT",
	HandSpans: map[string]int{"hand": 2, "hand-norowsnext": 1},
	Target:    "hand",
}, {
	Name:    "redis",
	Title:   "Redis commands (go-redis v9.23.0)",
	Service: "127.0.0.1:6379",
	About: "One call: `rdb.Get(ctx, key).Err()` of a 5-byte value on the real Redis over TCP on 127.0.0.1 (database 9, one connection). " +
		"Hand-instrumented: a go-redis `Hook` as users write it: a client span per command named after it (child of the context's span if any) with component, db.type and db.statement (command and key) tags, errors other than redis.Nil flagged, the span finished.",
	Plain: "./redisplain",
	Hand:  "./redishand",
	Variants: []*variant{
		{Name: "untraced", Desc: "plain program, built plainly: no tracing"},
		{Name: "hand", Desc: "hand-written go-redis Hook"},
		{Name: "ottoolexec", Desc: "plain program built with -toolexec=ottoolexec, no tracing code in the source"},
	},
	OpName:    "GET",
	HandSpans: map[string]int{"hand": 1},
	Target:    "hand",
}, {
	Name:    "amqp",
	Title:   "RabbitMQ publishes (amqp091-go v1.16.0)",
	Service: "127.0.0.1:5672",
	About: "One call: `ch.PublishWithContext(ctx, \"\", queue, false, false, msg)` of a 5-byte message with one header of the program's own, to an auto-delete queue of its own on the real RabbitMQ over TCP on 127.0.0.1 (no publisher confirms: the call returns once the frames are written). " +
		"Hand-instrumented: a publish wrapper as users write it: a producer span (child of the context's span if any) with component and destination tags, the headers copied and the trace context injected into the copy, the publish, the span finished.",
	Plain: "./amqpplain",
	Hand:  "./amqphand",
	Variants: []*variant{
		{Name: "untraced", Desc: "plain program, built plainly: no tracing"},
		{Name: "hand", Desc: "hand-written header-injecting publish wrapper"},
		{Name: "ottoolexec", Desc: "plain program built with -toolexec=ottoolexec, no tracing code in the source"},
	},
	OpName:    "amqp.publish",
	HandSpans: map[string]int{"hand": 1},
	Target:    "hand",
}, {
	Name:  "grpc",
	Title: "gRPC unary calls (google.golang.org/grpc v1.85.0)",
	About: "One call: `client.Check(ctx, req)` of grpc's health service, with one metadata pair of the program's own, served by the same program over TCP on 127.0.0.1 (one connection). " +
		"Both sides traced: a client and a server span per call. " +
		"Hand-instrumented: the OpenTracing interceptors of `github.com/opentracing-contrib/go-grpc` v0.1.4 (unary and stream, client and server), as users add them.",
	Plain: "./grpcplain",
	Hand:  "./grpchand",
	Variants: []*variant{
		{Name: "untraced", Desc: "plain program, built plainly: no tracing"},
		{Name: "hand", Desc: "go-grpc OpenTracing interceptors on client and server"},
		{Name: "ottoolexec", Desc: "plain program built with -toolexec=ottoolexec, no tracing code in the source"},
	},
	OpName:    "/grpc.health.v1.Health/Check",
	OpSpans:   2,
	HandSpans: map[string]int{"hand": 2},
	Target:    "hand",
}}

type clientResult struct {
	Bench  *clientBench
	Runs   map[string][]rtResult
	Checks []string
	N      int
	Rounds int
}

func (r *clientResult) med(name string, f func(rtResult) float64) float64 {
	var xs []float64
	for _, res := range r.Runs[name] {
		xs = append(xs, f(res))
	}
	return median(xs)
}

// measureClients runs every client benchmark whose service is up; one
// whose service is down is an error (the README says how to start them).
func (b *bench) measureClients(ctx context.Context, names string) ([]*clientResult, error) {
	var out []*clientResult
	for _, cb := range clientBenches {
		if names != "" && !slices.Contains(strings.Split(names, ","), cb.Name) {
			continue
		}
		if cb.Service != "" {
			conn, err := net.DialTimeout("tcp", cb.Service, 3*time.Second)
			if err != nil {
				return nil, fmt.Errorf("%s benchmark: the server at %s is not reachable (%v); README.md, section Tests, says how to start it", cb.Name, cb.Service, err)
			}
			conn.Close()
		}
		b.logf("run time: %s", cb.Title)
		r, err := b.measureClient(ctx, cb)
		if err != nil {
			return nil, fmt.Errorf("%s benchmark: %w", cb.Name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (b *bench) measureClient(ctx context.Context, cb *clientBench) (*clientResult, error) {
	dir, err := os.MkdirTemp(b.tmp, "clientops-"+cb.Name+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(b.root, "bench", "clientops")
	env := envWith(os.Environ(), map[string]string{
		"GOFLAGS": "-buildvcs=false", "GOTOOLCHAIN": "local", "GOWORK": "off",
		"OTTOOLEXEC_CACHE": filepath.Join(dir, "otcache"),
	}, "OTTOOLEXEC_DISABLE", "OTTOOLEXEC_INTEGRATIONS", "OTTOOLEXEC_NESTED_ID")
	bins := map[string]string{"untraced": filepath.Join(dir, "untraced"), "hand": filepath.Join(dir, "hand"), "ottoolexec": filepath.Join(dir, "ottoolexec")}
	for _, bl := range []struct{ out, pkg, toolexec string }{
		{"untraced", cb.Plain, ""}, {"hand", cb.Hand, ""}, {"ottoolexec", cb.Plain, "-toolexec=" + b.ottoolexec},
	} {
		args := []string{b.goCmd, "build", "-o", bins[bl.out]}
		if bl.toolexec != "" {
			args = append(args, bl.toolexec)
		}
		args = append(args, bl.pkg)
		if _, err := runCmd(ctx, "building "+bl.pkg+" as "+bl.out, src, env, args...); err != nil {
			return nil, err
		}
	}
	for _, v := range cb.Variants {
		base, _, _ := strings.Cut(v.Name, "-")
		v.Bin = bins[base]
	}
	r := &clientResult{Bench: cb, Runs: make(map[string][]rtResult), N: b.clientN, Rounds: b.rtRounds}
	run := func(v *variant, what string, env []string, args ...string) (rtResult, error) {
		return runVariant(ctx, v, what, dir, env, args...)
	}

	// Check that each side traces what it should before timing it.
	const checkN = 20
	for _, v := range cb.Variants {
		traceFile := filepath.Join(dir, "check-"+v.Name+".jsonl")
		args := []string{"-n", fmt.Sprint(checkN), "-warmup", "0"}
		if strings.HasPrefix(v.Name, "hand") {
			args = append(args, "-check")
		}
		res, err := run(v, "check run of "+v.Name, runtimeEnv(map[string]string{"OTTOOLEXEC_TRACE_FILE": traceFile}), args...)
		if err != nil {
			return nil, err
		}
		var msg string
		switch {
		case v.Name == "untraced":
			if n := countLines(traceFile); n != 0 {
				return nil, fmt.Errorf("check run of %s: %d spans written, expected none", v.Name, n)
			}
			msg = fmt.Sprintf("%s: no span written", v.Name)
		case v.Name == "ottoolexec":
			n, per := countOps(traceFile, cb.OpName), max(cb.OpSpans, 1)
			if n != per*checkN {
				return nil, fmt.Errorf("check run of %s: %d %q spans for %d calls, expected %d", v.Name, n, cb.OpName, checkN, per*checkN)
			}
			msg = fmt.Sprintf("%s: %d `%s` spans for %d calls (%d spans in all)", v.Name, n, cb.OpName, checkN, countLines(traceFile))
		default:
			want := cb.HandSpans[v.Name] * checkN
			if res.Spans < want {
				return nil, fmt.Errorf("check run of %s: %d spans finished for %d calls, expected at least %d", v.Name, res.Spans, checkN, want)
			}
			msg = fmt.Sprintf("%s: %d spans finished for %d calls", v.Name, res.Spans, checkN)
		}
		r.Checks = append(r.Checks, msg)
		b.logf("  check %s", msg)
	}

	env = runtimeEnv(nil)
	for round := range b.rtRounds {
		var parts []string
		for k := range cb.Variants {
			v := cb.Variants[(k+round)%len(cb.Variants)]
			res, err := run(v, fmt.Sprintf("round %d of %s", round+1, v.Name), env, "-n", fmt.Sprint(b.clientN))
			if err != nil {
				return nil, err
			}
			r.Runs[v.Name] = append(r.Runs[v.Name], res)
			parts = append(parts, fmt.Sprintf("%s %.1f µs", v.Name, res.NsPerOp/1e3))
		}
		b.logf("  round %d/%d: %s", round+1, b.rtRounds, strings.Join(parts, ", "))
	}
	return r, nil
}

// countOps counts the spans named op in a trace file.
func countOps(path, op string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var s struct {
			Operation string `json:"operation"`
		}
		if json.Unmarshal(sc.Bytes(), &s) == nil && (s.Operation == op || strings.HasPrefix(s.Operation, op+" ")) {
			n++
		}
	}
	return n
}

func (b *bench) clientSection(s *strings.Builder, r *clientResult) {
	cb := r.Bench
	fmt.Fprintf(s, "### %s\n\n", cb.Title)
	fmt.Fprintf(s, "bench/clientops: %s A run times %d calls after 500 warm-up ones; figures per call: wall ns/op, CPU ns/op (user+sys of the process), allocs/op and B/op (runtime.MemStats). %d rounds, each running every variant once in a rotating order; medians. "+
		"Tracer on every traced side: jaeger-client-go v2.30.0, const sampler, null reporter, 128-bit trace ids, trace context sent as uber-trace-id and W3C traceparent (ottoolexec's runtime picks exactly that with OTTOOLEXEC_CONSOLE=0 and no JAEGER_* variable; the hand-written programs build it with bench/handtracer). Checked before timing:\n\n", cb.About, r.N, r.Rounds)
	for _, c := range r.Checks {
		fmt.Fprintf(s, "- %s\n", c)
	}
	s.WriteString("\n| variant | ns/op | CPU ns/op | allocs/op | B/op |\n|---|---:|---:|---:|---:|\n")
	for _, v := range cb.Variants {
		fmt.Fprintf(s, "| %s: %s | %.0f | %.0f | %.1f | %.0f |\n", v.Name, v.Desc,
			r.med(v.Name, nsOp), r.med(v.Name, cpuOp), r.med(v.Name, allocsOp), r.med(v.Name, bytesOp))
	}
	s.WriteString("\n| ratio | ns/op | CPU ns/op | allocs/op | B/op | target |\n|---|---:|---:|---:|---:|---|\n")
	row := func(label, a, base, target string) {
		fmt.Fprintf(s, "| %s | %s | %s | %s | %s | %s |\n", label,
			ratio(r.med(a, nsOp), r.med(base, nsOp)), ratio(r.med(a, cpuOp), r.med(base, cpuOp)),
			ratio(r.med(a, allocsOp), r.med(base, allocsOp)), ratio(r.med(a, bytesOp), r.med(base, bytesOp)), target)
	}
	for _, v := range cb.Variants {
		if strings.HasPrefix(v.Name, "hand") {
			target := ""
			label := "ottoolexec / " + v.Name
			if v.Name == cb.Target {
				target, label = "≤ 1.0×", "**"+label+"**"
			}
			row(label, "ottoolexec", v.Name, target)
		}
	}
	row("ottoolexec / untraced", "ottoolexec", "untraced", "")
	// On a shared machine the load changes from round to round; the
	// ratio within each round, where the variants ran back to back, is
	// steadier than the ratio of the medians.
	paired := func(a, base string, f func(rtResult) float64) float64 {
		var xs []float64
		for i := range r.Runs[a] {
			if i < len(r.Runs[base]) && f(r.Runs[base][i]) > 0 {
				xs = append(xs, f(r.Runs[a][i])/f(r.Runs[base][i]))
			}
		}
		return median(xs)
	}
	fmt.Fprintf(s, "| ottoolexec / %s, median of the per-round ratios | %.2f× | %.2f× | %.2f× | %.2f× | ≤ 1.0× |\n", cb.Target,
		paired("ottoolexec", cb.Target, nsOp), paired("ottoolexec", cb.Target, cpuOp),
		paired("ottoolexec", cb.Target, allocsOp), paired("ottoolexec", cb.Target, bytesOp))
	s.WriteString("\nTracing overhead per call above the untraced program (medians subtracted):\n\n| variant | wall | CPU | allocs | bytes |\n|---|---:|---:|---:|---:|\n")
	for _, v := range cb.Variants[1:] {
		fmt.Fprintf(s, "| %s | %+.1f µs | %+.1f µs | %+.1f | %+.0f |\n", v.Name,
			(r.med(v.Name, nsOp)-r.med("untraced", nsOp))/1e3, (r.med(v.Name, cpuOp)-r.med("untraced", cpuOp))/1e3,
			r.med(v.Name, allocsOp)-r.med("untraced", allocsOp), r.med(v.Name, bytesOp)-r.med("untraced", bytesOp))
	}
	s.WriteString("\n<details><summary>Every run, in benchstat format</summary>\n\n```\n")
	for _, v := range cb.Variants {
		for _, res := range r.Runs[v.Name] {
			fmt.Fprintf(s, "Benchmark%s/%s \t%d\t%.0f ns/op\t%.0f cpu-ns/op\t%.0f B/op\t%.1f allocs/op\n",
				strings.ToUpper(cb.Name[:1])+cb.Name[1:], v.Name, res.N, res.NsPerOp, res.CPUNsPerOp, res.BytesPerOp, res.AllocsPerOp)
		}
	}
	s.WriteString("```\n\n</details>\n\n")
}
