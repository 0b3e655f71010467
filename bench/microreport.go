package main

import (
	"fmt"
	"strings"

	"github.com/ottoolexec/ottoolexec/hooks"
	"github.com/ottoolexec/ottoolexec/hooks/goroutine"
	"github.com/ottoolexec/ottoolexec/hooks/nethttp"
	"github.com/ottoolexec/ottoolexec/hooks/process"
)

// splicedCode returns the code the rule splices into the named function,
// as the traced binary got it (the rules are compiled into ottoolexec from
// the same checkout).
func splicedCode(rule *hooks.Rule, name string) string {
	for _, f := range rule.Funcs {
		if f.Name == name {
			var parts []string
			if f.Prologue != "" {
				parts = append(parts, "prologue `"+f.Prologue+"`")
			}
			if f.BeforeReturn != "" {
				parts = append(parts, "before every return `"+f.BeforeReturn+"`")
			}
			if f.Epilogue != "" {
				parts = append(parts, "epilogue `"+f.Epilogue+"`")
			}
			return strings.Join(parts, "; ")
		}
	}
	return "(not in the rule any more)"
}

// verdict says whether a figure is at most target: by its median, and
// whether its quartiles (over the rounds) agree.
func verdict(med, q1, q3, target float64) string {
	switch {
	case q3 <= target:
		return "met"
	case q1 > target:
		return "**missed**"
	case med <= target:
		return "met, within the noise"
	default:
		return "**missed**, within the noise"
	}
}

func (b *bench) microSection(s *strings.Builder, r *microResult) {
	s.WriteString("\n### Splices: micro-benchmarks (bench/micro)\n\n")
	fmt.Fprintf(s, "One test binary, `bench/micro` (it imports runtime/ottrace, so its module requires ottoolexec's: the driver serves this working tree as %s from a local file proxy, "+
		"the way the ottrace_api script does), built plainly and with `go test -c -toolexec=ottoolexec`, and run three ways:\n\n", "`"+ottoolexecModule+"@"+r.Version+"`")
	for _, v := range r.Variants {
		fmt.Fprintf(s, "- `%s`: %s;\n", v.Name, v.Desc)
	}
	fmt.Fprintf(s, "\nChecked before timing: the traced binary has the symbols %s and the plain one none of them;\n", "`"+strings.Join(r.Symbols, "`, `")+"`")
	for _, c := range r.Checks {
		fmt.Fprintf(s, "- %s\n", c)
	}
	fmt.Fprintf(s, "\n%d rounds; in each, every top-level benchmark (%s) runs once in every variant, back to back and in a rotating order, one process each (`-test.bench=^Name$ -test.benchmem -test.benchtime=%s`), so that the runs compared are seconds apart. Figures are medians over the rounds. "+
		"Two per benchmark: go test's **ns/op** (wall time) and **cpu-ns/op**, the CPU time of the thread that runs the loop (CLOCK_THREAD_CPUTIME_ID, the benchmark goroutine locked to its thread while it runs; "+
		"for Goroutine, which starts goroutines, the CPU time of the whole process). The machine is shared: wall time also counts the time a benchmark waited for a CPU, CPU time does not. "+
		"\"Paired\" figures are the median over the rounds of the difference (or ratio) between two variants in the same round, with the first and third quartile over the rounds in brackets. "+
		"A target is **met** or **missed** when the quartiles are on one side of it; when they straddle it, the verdict is the median's, marked \"within the noise\".\n\n", r.Rounds, strings.Join(r.Tops, ", "), r.Benchtime)

	has := func(name string) bool { return len(r.Runs["plain"][name]) > 0 }
	type fig struct {
		label string
		f     func(microRun) float64
	}
	figs := []fig{{"ns/op", wallOp}, {"cpu-ns/op", cpuNsOp}}

	// 1. Hooks with tracing disabled.
	s.WriteString("#### A spliced hook with tracing disabled (target: ≤ 2 ns per call)\n\n")
	s.WriteString("Each benchmark calls, in a tight loop, a standard library path that goes through one hooked function. The plain binary's standard library has no splice; the traced one's has the prologue, which with OTTOOLEXEC_DISABLED=1 finds its hook variable nil. So the difference per call is what the disabled hook costs, plus whatever else differs between the two binaries (code layout and alignment, a larger binary with more packages initialised), which at this scale is of the same order: read single-nanosecond differences with that in mind.\n\n")
	hookBenches := []struct{ name, path, code string }{
		{"HookMuxHandler", "`(*http.ServeMux).Handler` on a mux with one pattern (`GET /users/{id}`) → `(*ServeMux).findHandler`, hooked", splicedCode(nethttp.Rule, "findHandler")},
		{"HookSignalNotify", "`signal.Notify(c, SIGUSR1)` for a channel that already gets SIGUSR1 → `signal.Notify`, hooked", splicedCode(process.SignalRule, "Notify")},
		{"HookClientDo", "`(*http.Client).Do` with a stub RoundTripper that answers at once (no network) → `Client.do` → `Client.send` → `send`, hooked → the stub", splicedCode(nethttp.Rule, "send")},
	}
	s.WriteString("| benchmark | figure | plain | traced, disabled | difference | paired difference [quartiles] | target ≤ +2 ns | traced, tracing on (reference) |\n|---|---|---:|---:|---:|---:|---|---:|\n")
	for _, h := range hookBenches {
		if !has(h.name) {
			continue
		}
		for _, f := range figs {
			p, d, t := r.med("plain", h.name, f.f), r.med("disabled", h.name, f.f), r.med("traced", h.name, f.f)
			pd := r.pairedDiff("disabled", "plain", h.name, f.f)
			q1, q3 := quartiles(r.paired("disabled", "plain", h.name, f.f, minus))
			fmt.Fprintf(s, "| %s | %s | %.1f | %.1f | %+.1f ns | %+.1f ns [%+.1f, %+.1f] | %s | %.1f |\n", h.name, f.label, p, d, d-p, pd, q1, q3, verdict(pd, q1, q3, 2), t)
		}
	}
	s.WriteString("\nThe verdict is taken on the paired difference. What each benchmark runs, and the code spliced into the hooked function:\n\n")
	for _, h := range hookBenches {
		fmt.Fprintf(s, "- **%s**: %s. Spliced: %s.\n", h.name, h.path, h.code)
	}
	s.WriteString("\n`send` is the function every HTTP client request goes through; it is too expensive for the benchmark to resolve 2 ns (a few hundred ns per call, with allocations), so its difference is shown but is within the noise. `findHandler` and `Notify` are the cheap hooked paths: there the difference is the figure that matters. The other hooked functions are not reachable in a loop (`serverHandler.ServeHTTP` needs a served connection, `os.Exit` and `signal.process` end or signal the process).\n\n")

	// 2. Goroutine creation.
	s.WriteString("#### Goroutine creation with the goroutine-local slot (target: ≤ 1.05× plain)\n\n")
	fmt.Fprintf(s, "`wg.Add(1); go func() { wg.Done() }(); wg.Wait()` per iteration: the goroutine is created (`newproc1`; spliced: %s) and ends (`gdestroy`; spliced: %s). "+
		"`span`: the benchmark goroutine has a span current (`ottrace.WithGoroutineSpan` of a noop span), so every child copies a non-nil slot; in the plain and disabled binaries the call does nothing.\n\n",
		splicedCode(goroutine.Rule, "newproc1"), splicedCode(goroutine.Rule, "gdestroy"))
	s.WriteString("| benchmark | figure | plain | traced | traced / plain | paired ratio [quartiles] | target ≤ 1.05× | disabled (reference) | disabled / plain |\n|---|---|---:|---:|---:|---:|---|---:|---:|\n")
	for _, name := range []string{"Goroutine/nospan", "Goroutine/span"} {
		if !has(name) {
			continue
		}
		for _, f := range figs {
			p, t, d := r.med("plain", name, f.f), r.med("traced", name, f.f), r.med("disabled", name, f.f)
			pr := r.pairedRatio("traced", "plain", name, f.f)
			q1, q3 := quartiles(r.paired("traced", "plain", name, f.f, over))
			fmt.Fprintf(s, "| %s | %s | %.1f | %.1f | %s | %.3f× [%.3f, %.3f] | %s | %.1f | %s |\n", name, f.label, p, t, ratio(t, p), pr, q1, q3, verdict(pr, q1, q3, 1.05), d, ratio(d, p))
		}
	}
	s.WriteString("\nThe verdict is taken on the paired ratio. For `nospan` the traced and disabled binaries run the same code (the same binary; the slot is copied and cleared either way), so the two ratios are two estimates of the same thing, and their gap shows how noisy the figure is.\n\n")

	// 3. CurrentSpan without a context.
	s.WriteString("#### CurrentSpan without a context (target: ≤ 5 ns)\n\n")
	s.WriteString("`ottrace.CurrentSpan(nil)` in a loop: with no context the span comes from the goroutine's slot (a call through the accessor that runtime/gls registered). `nospan`: the slot is empty; `span`: a span is current. " +
		"`background-ctx` is `CurrentSpan(context.Background())`, a context without a span, for reference (it looks in the context first). " +
		"The target is on the traced binary; the plain binary (no slot: CurrentSpan returns nil at once) and the disabled one (slot not registered) are for reference.\n\n")
	s.WriteString("| benchmark | figure | traced [quartiles over the rounds] | target ≤ 5 ns | plain (reference) | traced − plain, paired | disabled (reference) |\n|---|---|---:|---|---:|---:|---:|\n")
	for _, name := range []string{"CurrentSpan/nil-ctx/nospan", "CurrentSpan/nil-ctx/span", "CurrentSpan/background-ctx/nospan"} {
		if !has(name) {
			continue
		}
		for _, f := range figs {
			t, p, d := r.med("traced", name, f.f), r.med("plain", name, f.f), r.med("disabled", name, f.f)
			var xs []float64
			for _, run := range r.Runs["traced"][name] {
				xs = append(xs, f.f(run))
			}
			q1, q3 := quartiles(xs)
			v := verdict(t, q1, q3, 5)
			if strings.HasPrefix(name, "CurrentSpan/background") {
				v = "(reference)"
			}
			fmt.Fprintf(s, "| %s | %s | %.2f [%.2f, %.2f] | %s | %.2f | %+.2f | %.2f |\n", name, f.label, t, q1, q3, v, p, r.pairedDiff("traced", "plain", name, f.f), d)
		}
	}
	s.WriteString("\n")

	// Everything.
	s.WriteString("#### Every benchmark, medians\n\n| benchmark |")
	for _, v := range r.Variants {
		fmt.Fprintf(s, " %s ns/op | %s cpu-ns/op | %s allocs/op |", v.Name, v.Name, v.Name)
	}
	s.WriteString("\n|---|" + strings.Repeat("---:|", 3*len(r.Variants)) + "\n")
	for _, name := range r.Benches {
		fmt.Fprintf(s, "| %s |", name)
		for _, v := range r.Variants {
			fmt.Fprintf(s, " %.2f | %.2f | %.0f |", r.med(v.Name, name, wallOp), r.med(v.Name, name, cpuNsOp), r.med(v.Name, name, func(m microRun) float64 { return m.Allocs }))
		}
		s.WriteString("\n")
	}
	s.WriteString("\n<details><summary>Every run, in benchstat format (variant as a name key)</summary>\n\n```\n")
	for _, v := range r.Variants {
		for _, name := range r.Benches {
			for _, run := range r.Runs[v.Name][name] {
				fmt.Fprintf(s, "Benchmark%s/variant=%s \t%d\t%.3f ns/op\t%.3f cpu-ns/op\t%.0f B/op\t%.0f allocs/op\n", name, v.Name, run.N, run.NsOp, run.CPUNsOp, run.BOp, run.Allocs)
			}
		}
	}
	s.WriteString("```\n\n</details>\n")
}
