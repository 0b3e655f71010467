package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// variant is one build of the round-trip program.
type variant struct {
	Name string   // benchstat sub-benchmark name
	Desc string   // for the report
	Bin  string   // binary
	Args []string // extra flags
}

// rtResult is one run of a variant, as the program prints it.
type rtResult struct {
	N           int     `json:"n"`
	NsPerOp     float64 `json:"ns_per_op"`
	CPUNsPerOp  float64 `json:"cpu_ns_per_op"`
	AllocsPerOp float64 `json:"allocs_per_op"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	Traced      int     `json:"traced"`
	Spans       int     `json:"spans"`
}

type runtimeResult struct {
	Variants  []*variant
	Runs      map[string][]rtResult
	Checks    []string
	N, Rounds int
}

// runtimeEnv is the environment of the round-trip programs: ottoolexec's
// runtime with no JAEGER_* variables, no console and no trace file reports
// to jaeger's null reporter with a const sampler (runtime/boot).
func runtimeEnv(extra map[string]string) []string {
	set := map[string]string{"OTTOOLEXEC_CONSOLE": "0"}
	for k, v := range extra {
		set[k] = v
	}
	var unset []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "JAEGER_") || strings.HasPrefix(k, "OTTOOLEXEC_") {
			unset = append(unset, k)
		}
	}
	return envWith(os.Environ(), set, unset...)
}

func (b *bench) measureRuntime(ctx context.Context) (*runtimeResult, error) {
	dir, err := os.MkdirTemp(b.tmp, "roundtrip-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(b.root, "bench", "roundtrip")
	// These builds are not measured: the user's build cache and module
	// proxy are fine, but ottoolexec's cache is a throwaway one.
	env := envWith(os.Environ(), map[string]string{
		"GOFLAGS": "-buildvcs=false", "GOTOOLCHAIN": "local", "GOWORK": "off",
		"OTTOOLEXEC_CACHE": filepath.Join(dir, "otcache"),
	}, "OTTOOLEXEC_DISABLE", "OTTOOLEXEC_INTEGRATIONS", "OTTOOLEXEC_NESTED_ID")
	builds := []struct{ what, out, pkg, toolexec string }{
		{"round-trip program, plain", "untraced", "./plain", ""},
		{"round-trip program, hand-instrumented", "hand", "./hand", ""},
		{"round-trip program, built with ottoolexec", "ottoolexec", "./plain", "-toolexec=" + b.ottoolexec},
	}
	for _, bl := range builds {
		args := []string{b.goCmd, "build", "-o", filepath.Join(dir, bl.out)}
		if bl.toolexec != "" {
			args = append(args, bl.toolexec)
		}
		args = append(args, bl.pkg)
		if _, err := runCmd(ctx, "building the "+bl.what, src, env, args...); err != nil {
			return nil, err
		}
	}
	r := &runtimeResult{N: b.rtN, Rounds: b.rtRounds, Runs: make(map[string][]rtResult)}
	r.Variants = []*variant{
		{Name: "untraced", Desc: "plain program, built plainly: no tracing", Bin: filepath.Join(dir, "untraced")},
		{Name: "hand", Desc: "hand-instrumented with go-stdlib/nethttp (Middleware, Transport + TraceRequest, library defaults: ClientTrace on)", Bin: filepath.Join(dir, "hand")},
		{Name: "hand-noclienttrace", Desc: "the same with nethttp.ClientTrace(false) (no httptrace event logs on the client span)", Bin: filepath.Join(dir, "hand"), Args: []string{"-clienttrace=false"}},
		{Name: "ottoolexec", Desc: "plain program built with -toolexec=ottoolexec, no tracing code in the source", Bin: filepath.Join(dir, "ottoolexec")},
	}

	// Check that each side traces what it should before timing it.
	const checkN = 20
	run := func(v *variant, what string, env []string, args ...string) (rtResult, error) {
		return runVariant(ctx, v, what, dir, env, args...)
	}
	for _, v := range r.Variants {
		traceFile := filepath.Join(dir, "check-"+v.Name+".jsonl")
		env := runtimeEnv(map[string]string{"OTTOOLEXEC_TRACE_FILE": traceFile})
		args := []string{"-n", fmt.Sprint(checkN), "-warmup", "0"}
		if strings.HasPrefix(v.Name, "hand") {
			args = append(args, "-check")
		}
		res, err := run(v, "check run of "+v.Name, env, args...)
		if err != nil {
			return nil, err
		}
		spans := res.Spans
		if v.Name == "ottoolexec" {
			spans = countLines(traceFile)
		}
		wantTraced, wantSpans := checkN, 0
		switch v.Name {
		case "untraced":
			wantTraced = 0
		case "ottoolexec":
			wantSpans = 2 * checkN // client, server
		default:
			wantSpans = 3 * checkN // go-stdlib: "HTTP Client" root, "HTTP GET" client, server
		}
		if v.Name == "untraced" {
			spans = countLines(traceFile) // must stay 0: nothing writes the file
		}
		msg := fmt.Sprintf("%s: %d of %d requests reached the server with trace context, %d spans finished", v.Name, res.Traced, checkN, max(spans, 0))
		if res.Traced != wantTraced || max(spans, 0) != wantSpans {
			return nil, fmt.Errorf("check run of %s: %s; expected %d requests with trace context and %d spans", v.Name, msg, wantTraced, wantSpans)
		}
		r.Checks = append(r.Checks, msg)
		b.logf("  check %s", msg)
	}

	// The timed runs: every round runs every variant once, in an order
	// that rotates, so machine noise is spread over all of them.
	env = runtimeEnv(nil)
	for round := range b.rtRounds {
		for k := range r.Variants {
			v := r.Variants[(k+round)%len(r.Variants)]
			res, err := run(v, fmt.Sprintf("round %d of %s", round+1, v.Name), env, "-n", fmt.Sprint(b.rtN))
			if err != nil {
				return nil, err
			}
			r.Runs[v.Name] = append(r.Runs[v.Name], res)
		}
		b.logf("  round %d/%d: %s", round+1, b.rtRounds, r.roundLine(round))
	}
	return r, nil
}

func (r *runtimeResult) roundLine(round int) string {
	var parts []string
	for _, v := range r.Variants {
		res := r.Runs[v.Name][round]
		parts = append(parts, fmt.Sprintf("%s %.1f µs", v.Name, res.NsPerOp/1e3))
	}
	return strings.Join(parts, ", ")
}

func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		n++
	}
	return n
}

// med returns the median of one figure over a variant's runs.
func (r *runtimeResult) med(name string, f func(rtResult) float64) float64 {
	var xs []float64
	for _, res := range r.Runs[name] {
		xs = append(xs, f(res))
	}
	return median(xs)
}

func nsOp(r rtResult) float64     { return r.NsPerOp }
func cpuOp(r rtResult) float64    { return r.CPUNsPerOp }
func allocsOp(r rtResult) float64 { return r.AllocsPerOp }
func bytesOp(r rtResult) float64  { return r.BytesPerOp }

// runVariant runs one variant's program in dir and reads the result it
// prints as the last line of its output.
func runVariant(ctx context.Context, v *variant, what, dir string, env []string, args ...string) (rtResult, error) {
	var res rtResult
	out, err := runCmd(ctx, what, dir, env, append(append([]string{v.Bin}, v.Args...), args...)...)
	if err != nil {
		return res, err
	}
	line := bytes.TrimSpace(out.Stdout)
	if i := bytes.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	if err := json.Unmarshal(line, &res); err != nil {
		return res, fmt.Errorf("%s: reading its output %q: %v", what, line, err)
	}
	return res, nil
}
