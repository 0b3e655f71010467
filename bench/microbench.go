package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

const ottoolexecModule = "github.com/ottoolexec/ottoolexec"

// The micro-benchmarks of bench/micro: what a spliced hook costs with
// tracing disabled, what the goroutine-local slot adds to creating a
// goroutine, and what CurrentSpan without a context costs. One test
// binary built plainly and one built with -toolexec=ottoolexec, the
// latter run with tracing on and with OTTOOLEXEC_DISABLED=1.

// microVariant is one way of running the micro-benchmarks.
type microVariant struct {
	Name string
	Desc string
	Bin  string
	Env  map[string]string
}

// microRun is one benchmark's figures from one run of a variant.
type microRun struct {
	N                          int64
	NsOp, CPUNsOp, BOp, Allocs float64
}

type microResult struct {
	Version   string // of ottoolexec's module in the local proxy
	Variants  []*microVariant
	Tops      []string                         // top-level benchmarks, as run
	Benches   []string                         // with their sub-benchmarks, as reported
	Runs      map[string]map[string][]microRun // variant → benchmark → one per round
	Checks    []string
	Rounds    int
	Benchtime string
	Symbols   []string // the spliced symbols found in the traced binary
}

// microSymbols are symbols the traced binary must have and the plain one
// must not: the hook variables the measured prologues test, and the
// goroutine slot's accessors.
var microSymbols = []string{
	"net/http.__ottoolexec_clientHook",
	"net/http.__ottoolexec_routeHook",
	"os/signal.__ottoolexec_notifyHook",
	"runtime.__ottoolexec_getgls",
	"runtime.__ottoolexec_setgls",
}

// microBuild is the two test binaries, built when the run starts: the
// traced one must get the runtime this ottoolexec was built with, and the
// working tree it is taken from may change while the build part runs.
type microBuild struct {
	version, dir  string
	plain, traced string // test binaries
}

// buildMicro builds the micro-benchmarks' test binaries in a throwaway
// module under b.tmp (removed with it at the end).
func (b *bench) buildMicro(ctx context.Context) (*microBuild, error) {
	dir, err := os.MkdirTemp(b.tmp, "micro-")
	if err != nil {
		return nil, err
	}

	// The module requires ottoolexec (for runtime/ottrace) at the version
	// a local proxy serves from this checkout; see writeModProxy.
	proxy := filepath.Join(dir, "proxy")
	version, err := b.writeModProxy(ctx, proxy)
	if err != nil {
		return nil, err
	}
	mod := filepath.Join(dir, "mod")
	if err := os.MkdirAll(mod, 0o777); err != nil {
		return nil, err
	}
	src := filepath.Join(b.root, "bench", "micro")
	goFiles, _ := filepath.Glob(filepath.Join(src, "*.go"))
	for _, f := range goFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(mod, filepath.Base(f)), data, 0o666); err != nil {
			return nil, err
		}
	}
	gomod := fmt.Sprintf("module example.com/micro\n\ngo 1.25\n\nrequire %s %s\n", ottoolexecModule, version)
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o666); err != nil {
		return nil, err
	}
	// The checksums of the other modules it needs are in these two.
	var sums []byte
	for _, f := range []string{filepath.Join(src, "go.sum"), filepath.Join(b.root, "go.sum")} {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sums = append(sums, data...)
	}
	if err := os.WriteFile(filepath.Join(mod, "go.sum"), uniqueLines(sums), 0o666); err != nil {
		return nil, err
	}
	goproxy := "file://" + filepath.ToSlash(proxy)
	if p := os.Getenv("GOPROXY"); p != "" {
		goproxy += "," + p
	} else {
		goproxy += ",https://proxy.golang.org,direct"
	}
	env := envWith(os.Environ(), map[string]string{
		"GOFLAGS": "-buildvcs=false -mod=mod", "GOTOOLCHAIN": "local", "GOWORK": "off",
		"GOPROXY": goproxy, "GONOSUMDB": ottoolexecModule,
		"OTTOOLEXEC_CACHE": filepath.Join(dir, "otcache"),
	}, "OTTOOLEXEC_DISABLE", "OTTOOLEXEC_INTEGRATIONS", "OTTOOLEXEC_NESTED_ID", "GOEXPERIMENT", "GODEBUG")
	if _, err := runCmd(ctx, "resolving the micro-benchmarks' module", mod, env, b.goCmd, "mod", "tidy"); err != nil {
		return nil, err
	}
	plainBin, tracedBin := filepath.Join(dir, "plain.test"), filepath.Join(dir, "traced.test")
	if _, err := runCmd(ctx, "building the micro-benchmarks plainly", mod, env, b.goCmd, "test", "-c", "-o", plainBin, "."); err != nil {
		return nil, err
	}
	if _, err := runCmd(ctx, "building the micro-benchmarks with ottoolexec", mod, env, b.goCmd, "test", "-c", "-toolexec="+b.ottoolexec, "-o", tracedBin, "."); err != nil {
		return nil, fmt.Errorf("%w\n  (the runtime in the working tree must be the one %s was built from: run `make bench`, which builds it first)", err, b.ottoolexec)
	}
	return &microBuild{version: version, dir: dir, plain: plainBin, traced: tracedBin}, nil
}

func (b *bench) measureMicro(ctx context.Context, mb *microBuild) (*microResult, error) {
	dir, plainBin, tracedBin := mb.dir, mb.plain, mb.traced
	r := &microResult{Version: mb.version, Rounds: b.microRounds, Benchtime: b.benchtime, Runs: make(map[string]map[string][]microRun)}
	for _, check := range []struct {
		bin  string
		want bool
	}{{plainBin, false}, {tracedBin, true}} {
		found, err := elfSymbols(check.bin, microSymbols)
		if err != nil {
			return nil, err
		}
		for _, sym := range microSymbols {
			if found[sym] != check.want {
				return nil, fmt.Errorf("micro-benchmarks: %s has symbol %s: %v, expected %v", filepath.Base(check.bin), sym, found[sym], check.want)
			}
		}
	}
	r.Symbols = microSymbols

	r.Variants = []*microVariant{
		{Name: "plain", Desc: "built plainly", Bin: plainBin},
		{Name: "disabled", Desc: "built with -toolexec=ottoolexec, run with OTTOOLEXEC_DISABLED=1: hook variables nil, slot accessors not registered (newproc1/gdestroy still copy and clear the slot)", Bin: tracedBin,
			Env: map[string]string{"OTTOOLEXEC_DISABLED": "1"}},
		{Name: "traced", Desc: "built with -toolexec=ottoolexec, tracing on (OTTOOLEXEC_CONSOLE=0, no JAEGER_*: jaeger, const sampler, null reporter)", Bin: tracedBin},
	}
	expect := map[string]string{"plain": "off", "disabled": "off", "traced": "traced"}
	for _, v := range r.Variants {
		env := runtimeEnv(mergeEnv(v.Env, map[string]string{"MICRO_EXPECT": expect[v.Name]}))
		if _, err := runCmd(ctx, "check run of the micro-benchmarks, "+v.Name, dir, env, v.Bin, "-test.run=^TestCheck$", "-test.count=1"); err != nil {
			return nil, err
		}
		msg := fmt.Sprintf("%s: the client hook does not add trace headers, and a span made current is not found by CurrentSpan(nil)", v.Name)
		if expect[v.Name] == "traced" {
			msg = fmt.Sprintf("%s: the client hook adds trace headers, and a span made current is CurrentSpan(nil) on its goroutine and on one started after", v.Name)
		}
		r.Checks = append(r.Checks, msg)
		b.logf("  check %s", msg)
	}

	// The top-level benchmarks, each run by itself in every variant in
	// turn, so that the runs compared are seconds apart, not minutes: the
	// load of a shared machine changes in between.
	out, err := runCmd(ctx, "listing the micro-benchmarks", dir, runtimeEnv(nil), plainBin, "-test.list=^Benchmark")
	if err != nil {
		return nil, err
	}
	var tops []string
	for _, line := range strings.Fields(string(out.Stdout)) {
		if strings.HasPrefix(line, "Benchmark") {
			tops = append(tops, line)
		}
	}
	if len(tops) == 0 {
		return nil, fmt.Errorf("micro-benchmarks: -test.list found no benchmark:\n%s", indent(string(out.Stdout)))
	}
	r.Tops = tops
	for round := range b.microRounds {
		for i, top := range tops {
			for k := range r.Variants {
				v := r.Variants[(k+round+i)%len(r.Variants)]
				what := fmt.Sprintf("round %d of the micro-benchmarks, %s, %s", round+1, top, v.Name)
				out, err := runCmd(ctx, what, dir, runtimeEnv(v.Env),
					v.Bin, "-test.run=^$", "-test.bench=^"+top+"$", "-test.benchmem", "-test.count=1", "-test.benchtime="+b.benchtime)
				if err != nil {
					return nil, err
				}
				runs, order, err := parseBench(out.Stdout)
				if err != nil {
					return nil, fmt.Errorf("%s: %v", what, err)
				}
				if round == 0 && k == 0 {
					r.Benches = append(r.Benches, order...)
				}
				if r.Runs[v.Name] == nil {
					r.Runs[v.Name] = make(map[string][]microRun)
				}
				for name, run := range runs {
					r.Runs[v.Name][name] = append(r.Runs[v.Name][name], run)
				}
			}
		}
		b.logf("  micro round %d/%d: %s", round+1, b.microRounds, r.roundSummary(round))
	}
	return r, nil
}

// uniqueLines sorts the lines of data and drops duplicates and blanks.
func uniqueLines(data []byte) []byte {
	seen := make(map[string]bool)
	var lines []string
	for _, line := range strings.Split(string(data), "\n") {
		if line != "" && !seen[line] {
			seen[line] = true
			lines = append(lines, line)
		}
	}
	sort.Strings(lines)
	return []byte(strings.Join(lines, "\n") + "\n")
}

func mergeEnv(a, b map[string]string) map[string]string {
	m := make(map[string]string)
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

func elfSymbols(bin string, want []string) (map[string]bool, error) {
	f, err := elf.Open(bin)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", bin, err)
	}
	wanted := make(map[string]bool)
	for _, w := range want {
		wanted[w] = true
	}
	found := make(map[string]bool)
	for _, s := range syms {
		if wanted[s.Name] {
			found[s.Name] = true
		}
	}
	return found, nil
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+(\d+)\s+(.*)$`)

// parseBench reads go test -bench output: each benchmark's figures, and
// the benchmarks in the order they ran.
func parseBench(out []byte) (map[string]microRun, []string, error) {
	runs := make(map[string]microRun)
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		var run microRun
		run.N, _ = strconv.ParseInt(m[3], 10, 64)
		f := strings.Fields(m[4])
		for i := 0; i+1 < len(f); i += 2 {
			x, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("reading %q: %v", sc.Text(), err)
			}
			switch f[i+1] {
			case "ns/op":
				run.NsOp = x
			case "cpu-ns/op":
				run.CPUNsOp = x
			case "B/op":
				run.BOp = x
			case "allocs/op":
				run.Allocs = x
			}
		}
		name := strings.TrimPrefix(m[1], "Benchmark")
		if _, dup := runs[name]; !dup {
			order = append(order, name)
		}
		runs[name] = run
	}
	if len(runs) == 0 {
		return nil, nil, fmt.Errorf("no benchmark results in its output:\n%s", indent(tail(string(out), 20)))
	}
	return runs, order, nil
}

func (r *microResult) roundSummary(round int) string {
	var parts []string
	for _, name := range []string{"CurrentSpan/nil-ctx/span", "Goroutine/nospan", "HookMuxHandler"} {
		var vs []string
		for _, v := range r.Variants {
			if runs := r.Runs[v.Name][name]; round < len(runs) {
				vs = append(vs, fmt.Sprintf("%s %.1f", v.Name, runs[round].NsOp))
			}
		}
		parts = append(parts, name+" "+strings.Join(vs, " "))
	}
	return strings.Join(parts, "; ") + " (ns/op)"
}

// med is the median of one figure of a benchmark over the rounds.
func (r *microResult) med(variant, bench string, f func(microRun) float64) float64 {
	var xs []float64
	for _, run := range r.Runs[variant][bench] {
		xs = append(xs, f(run))
	}
	return median(xs)
}

// paired returns, for every round, op of a's figure and base's in that
// round.
func (r *microResult) paired(a, base, bench string, f func(microRun) float64, op func(x, y float64) float64) []float64 {
	ra, rb := r.Runs[a][bench], r.Runs[base][bench]
	var xs []float64
	for i := range min(len(ra), len(rb)) {
		xs = append(xs, op(f(ra[i]), f(rb[i])))
	}
	return xs
}

func minus(x, y float64) float64 { return x - y }
func over(x, y float64) float64  { return x / y }

// pairedDiff is the median over the rounds of a's figure minus base's in
// the same round.
func (r *microResult) pairedDiff(a, base, bench string, f func(microRun) float64) float64 {
	return median(r.paired(a, base, bench, f, minus))
}

// pairedRatio is the median over the rounds of a's figure over base's in
// the same round.
func (r *microResult) pairedRatio(a, base, bench string, f func(microRun) float64) float64 {
	return median(r.paired(a, base, bench, f, over))
}

// quartiles returns the first and third quartile of xs (linear
// interpolation between the closest ranks).
func quartiles(xs []float64) (q1, q3 float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	at := func(p float64) float64 {
		pos := p * float64(len(s)-1)
		i := int(pos)
		if i+1 >= len(s) {
			return s[len(s)-1]
		}
		return s[i] + (pos-float64(i))*(s[i+1]-s[i])
	}
	return at(0.25), at(0.75)
}

func wallOp(r microRun) float64  { return r.NsOp }
func cpuNsOp(r microRun) float64 { return r.CPUNsOp }
