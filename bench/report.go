package main

import (
	"fmt"
	"sort"
	"strings"
)

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func seconds(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, ", ")
}

// report renders everything measured as Markdown.
// clientReport is the report of the client-operation benchmarks, kept in a
// file of its own so that each can be rerun alone.
func (b *bench) clientReport(m machine, clients []*clientResult) string {
	var s strings.Builder
	s.WriteString("# ottoolexec benchmark results: client operations\n\n")
	b.header(&s, m)
	s.WriteString("## Run-time cost per client call\n\n")
	for _, r := range clients {
		b.clientSection(&s, r)
	}
	return s.String()
}

func (b *bench) report(m machine, pass *passResult, builds []*buildResult, rt *runtimeResult, load *loadResult, micro *microResult) string {
	var s strings.Builder
	s.WriteString("# ottoolexec benchmark results\n\n")
	b.header(&s, m)

	if len(builds) > 0 {
		s.WriteString("## Build cost\n\n")
		fmt.Fprintf(&s, "Cold: fresh empty GOCACHE for each build (and a fresh OTTOOLEXEC_CACHE for the instrumented one), the same pre-filled module cache, GOPROXY=off; %d builds of each kind, plain and instrumented alternating. ", b.coldRuns)
		fmt.Fprintf(&s, "Cached: %d rebuilds of each kind on the caches of the last cold pair, the output binaries deleted before each so that the link runs. Figures are medians; ratios are instrumented/plain.\n\n", b.rebuilds)
		if pass != nil {
			fmt.Fprintf(&s, "Pass-through: one tool invocation that ottoolexec hands straight to the tool (`compile -V`), %d times each way, in turn: %.1f ms direct, %.1f ms through the smallest Go wrapper (a main that only execs its arguments), %.1f ms through ottoolexec (medians). So ottoolexec adds **%+.1f ms to every tool invocation** it does not instrument, of which %+.1f ms is what any Go wrapper costs.\n\n",
				pass.N, pass.Direct, pass.Minimal, pass.Via, pass.Via-pass.Direct, pass.Minimal-pass.Direct)
		}
		for _, r := range builds {
			b.buildSection(&s, r)
		}
	}
	if rt != nil || load != nil || micro != nil {
		s.WriteString("## Run-time cost\n\n")
	}
	if rt != nil {
		b.runtimeSection(&s, rt)
	}
	if load != nil {
		b.loadSection(&s, load)
	}
	if micro != nil {
		b.microSection(&s, micro)
	}
	return s.String()
}

func (b *bench) buildSection(s *strings.Builder, r *buildResult) {
	fmt.Fprintf(s, "### %s\n\n", r.Prog.Desc)
	wall := func(rs []cmdResult) []float64 {
		var xs []float64
		for _, x := range rs {
			xs = append(xs, x.Wall.Seconds())
		}
		return xs
	}
	cpu := func(rs []cmdResult) []float64 {
		var xs []float64
		for _, x := range rs {
			xs = append(xs, x.CPU.Seconds())
		}
		return xs
	}
	maxRSS := func(rs []cmdResult) int64 {
		var m int64
		for _, x := range rs {
			m = max(m, x.MaxRSSKB)
		}
		return m
	}
	var pairRatios []float64
	for i := range r.ColdPlain {
		pairRatios = append(pairRatios, r.ColdInstr[i].Wall.Seconds()/r.ColdPlain[i].Wall.Seconds())
	}
	cp, ci := median(wall(r.ColdPlain)), median(wall(r.ColdInstr))
	cpuP, cpuI := median(cpu(r.ColdPlain)), median(cpu(r.ColdInstr))
	rp, ri := median(durations(r.RebuildPlain)), median(durations(r.RebuildInstr))
	var sizeP, sizeI int64
	var names []string
	for name, n := range r.SizePlain {
		sizeP += n
		names = append(names, name)
	}
	for _, n := range r.SizeInstr {
		sizeI += n
	}
	sort.Strings(names)

	s.WriteString("| figure | plain | instrumented | ratio | target |\n|---|---:|---:|---:|---|\n")
	fmt.Fprintf(s, "| cold build, wall | %.1f s | %.1f s | **%s** | ≤ 1.3× |\n", cp, ci, ratio(ci, cp))
	fmt.Fprintf(s, "| cold build, wall, median of the per-pair ratios | | | %.2f× | ≤ 1.3× |\n", median(pairRatios))
	fmt.Fprintf(s, "| cold build, CPU (user+sys, whole process tree) | %.1f s | %.1f s | %s | |\n", cpuP, cpuI, ratio(cpuI, cpuP))
	fmt.Fprintf(s, "| cached rebuild, wall | %.2f s | %.2f s | **%s** | ≤ 1.5× |\n", rp, ri, ratio(ri, rp))
	if r.Cold != nil {
		fmt.Fprintf(s, "| peak RSS of any ottoolexec process (probed cold build) | – | %.0f MB | | ≤ 200 MB |\n", mb(r.Cold.PeakOt))
	}
	fmt.Fprintf(s, "| largest single process of the cold build (wait4 maxrss, max over runs) | %.0f MB | %.0f MB | %s | |\n",
		mb(maxRSS(r.ColdPlain)), mb(maxRSS(r.ColdInstr)), ratio(float64(maxRSS(r.ColdInstr)), float64(maxRSS(r.ColdPlain))))
	fmt.Fprintf(s, "| binary size%s | %.2f MB | %.2f MB | %s | |\n", map[bool]string{true: " (total of " + strings.Join(names, ", ") + ")", false: ""}[len(names) > 1],
		float64(sizeP)/(1<<20), float64(sizeI)/(1<<20), ratio(float64(sizeI), float64(sizeP)))
	s.WriteString("\n")
	loads := func(rs []cmdResult) string {
		var l []string
		for _, x := range rs {
			l = append(l, x.Load)
		}
		return strings.Join(l, ", ")
	}
	fmt.Fprintf(s, "Every run, seconds of wall time: cold plain %s; cold instrumented %s (pair ratios %s, in run order); cached plain %s; cached instrumented %s. "+
		"CPU seconds: cold plain %s; cold instrumented %s. 1-minute load average as each cold build started: plain %s; instrumented %s.\n\n",
		seconds(wall(r.ColdPlain)), seconds(wall(r.ColdInstr)), strings.ReplaceAll(seconds(pairRatios), ", ", "×, ")+"×",
		seconds(durations(r.RebuildPlain)), seconds(durations(r.RebuildInstr)),
		seconds(cpu(r.ColdPlain)), seconds(cpu(r.ColdInstr)), loads(r.ColdPlain), loads(r.ColdInstr))
	var orphans []string
	for _, x := range r.ColdInstr {
		orphans = append(orphans, fmt.Sprintf("%d (%.2f s)", x.Orphans, x.OrphanWait.Seconds()))
	}
	fmt.Fprintf(s, "Detached processes each cold instrumented build left behind, and how long they ran on after it returned (waited for before the next build; their CPU time is in the CPU figures): %s.\n\n", strings.Join(orphans, ", "))
	if len(names) > 1 {
		var parts []string
		for _, n := range names {
			parts = append(parts, fmt.Sprintf("%s %.2f → %.2f MB", n, float64(r.SizePlain[n])/(1<<20), float64(r.SizeInstr[n])/(1<<20)))
		}
		fmt.Fprintf(s, "Binary sizes: %s.\n\n", strings.Join(parts, "; "))
	}
	if r.Cold != nil {
		s.WriteString("#### Where ottoolexec's time and memory go\n\n")
		s.WriteString("From one more cold instrumented build and one cached rebuild, with the probe (this program, see probe.go) in front of every ottoolexec invocation. \"Own time\" is from the start of an ottoolexec process to the moment it execs the real tool: it includes the nested go commands it waits for.\n\n")
		r.Cold.markdown(s, "**Cold build**")
		if m := r.Memo; m != nil {
			fmt.Fprintf(s, "The runtime's resolved closure (ottoolexec's archives memo) has %d packages (%d standard library); the program's own closure has %d. %d packages are in the runtime's closure only (%d of them standard library), so a cold build compiles them in addition: %s.\n\n",
				m.RuntimePkgs, m.RuntimeStd, m.ProgramPkgs, len(m.Added), m.AddedStd, strings.Join(m.Added, ", "))
		}
		r.Cached.markdown(s, "**Cached rebuild**")
	}
}

func (b *bench) runtimeSection(s *strings.Builder, rt *runtimeResult) {
	s.WriteString("### HTTP round trips\n\n")
	fmt.Fprintf(s, "bench/roundtrip: one process serves `GET /work` (a 3-byte body) on 127.0.0.1 and sends it requests one after another over a keep-alive connection; "+
		"a run times %d round trips after 2000 warm-up ones. Figures per round trip, client and server together: wall ns/op, CPU ns/op (user+sys of the process), allocs/op and B/op (runtime.MemStats). "+
		"%d rounds, each running every variant once in a rotating order; medians.\n\n", rt.N, rt.Rounds)
	s.WriteString("Tracer on both traced sides: jaeger-client-go v2.30.0, const sampler (every request sampled), null reporter, 128-bit trace ids, trace context sent as uber-trace-id and W3C traceparent. " +
		"The hand-instrumented program builds it with bench/handtracer: `jaeger.NewTracer(..., jaeger.NewConstSampler(true), jaeger.NewNullReporter(), jaeger.TracerOptions.Gen128Bit(true))` with Jaeger's propagators plus a traceparent on injection. " +
		"The ottoolexec build gets it from runtime/boot, run with OTTOOLEXEC_CONSOLE=0, no OTTOOLEXEC_TRACE_FILE and no JAEGER_* variable: boot then has no sink and passes `jaeger.NewNullReporter()`, " +
		"and with no JAEGER_SAMPLER_TYPE it uses `jaeger.NewConstSampler(true)`.\n\n")
	s.WriteString("Spans per round trip: ottoolexec 2 (client, server); go-stdlib 3 (its client makes a root \"HTTP Client\" span and an \"HTTP GET\" span per attempt, plus the server span). Checked before timing:\n\n")
	for _, c := range rt.Checks {
		fmt.Fprintf(s, "- %s\n", c)
	}
	s.WriteString("\n| variant | ns/op | CPU ns/op | allocs/op | B/op |\n|---|---:|---:|---:|---:|\n")
	for _, v := range rt.Variants {
		fmt.Fprintf(s, "| %s: %s | %.0f | %.0f | %.1f | %.0f |\n", v.Name, v.Desc,
			rt.med(v.Name, nsOp), rt.med(v.Name, cpuOp), rt.med(v.Name, allocsOp), rt.med(v.Name, bytesOp))
	}
	s.WriteString("\n| ratio | ns/op | CPU ns/op | allocs/op | B/op | target |\n|---|---:|---:|---:|---:|---|\n")
	row := func(label, a, base, target string) {
		fmt.Fprintf(s, "| %s | %s | %s | %s | %s | %s |\n", label,
			ratio(rt.med(a, nsOp), rt.med(base, nsOp)), ratio(rt.med(a, cpuOp), rt.med(base, cpuOp)),
			ratio(rt.med(a, allocsOp), rt.med(base, allocsOp)), ratio(rt.med(a, bytesOp), rt.med(base, bytesOp)), target)
	}
	row("**ottoolexec / hand**", "ottoolexec", "hand", "≤ 1.0×")
	row("ottoolexec / hand-noclienttrace", "ottoolexec", "hand-noclienttrace", "")
	row("ottoolexec / untraced", "ottoolexec", "untraced", "")
	row("hand / untraced", "hand", "untraced", "")
	s.WriteString("\nTracing overhead per round trip above the untraced program (medians subtracted):\n\n| variant | wall | CPU | allocs | bytes |\n|---|---:|---:|---:|---:|\n")
	for _, v := range rt.Variants[1:] {
		fmt.Fprintf(s, "| %s | %+.1f µs | %+.1f µs | %+.1f | %+.0f |\n", v.Name,
			(rt.med(v.Name, nsOp)-rt.med("untraced", nsOp))/1e3, (rt.med(v.Name, cpuOp)-rt.med("untraced", cpuOp))/1e3,
			rt.med(v.Name, allocsOp)-rt.med("untraced", allocsOp), rt.med(v.Name, bytesOp)-rt.med("untraced", bytesOp))
	}
	s.WriteString("\n<details><summary>Every run, in benchstat format</summary>\n\n```\n")
	for _, v := range rt.Variants {
		for _, res := range rt.Runs[v.Name] {
			fmt.Fprintf(s, "BenchmarkRoundTrip/%s \t%d\t%.0f ns/op\t%.0f cpu-ns/op\t%.0f B/op\t%.1f allocs/op\n",
				v.Name, res.N, res.NsPerOp, res.CPUNsPerOp, res.BytesPerOp, res.AllocsPerOp)
		}
	}
	s.WriteString("```\n\n</details>\n")
}

func (b *bench) header(s *strings.Builder, m machine) {
	s.WriteString("Written by `make bench` (`go run ./bench`); see bench/README.md for what is measured and how. ")
	s.WriteString("Every ratio is against a baseline measured in the same run, on the same machine, interleaved with it.\n\n")
	tree := "a clean working tree"
	if len(m.Dirty) > 0 {
		tree = fmt.Sprintf("the working tree, with uncommitted changes to %s", strings.Join(m.Dirty, ", "))
	}
	fmt.Fprintf(s, "- Date: %s\n- Machine: %d CPUs (`nproc`), %s, %s\n- Go: %s\n- ottoolexec: %s, built from %s at commit `%s`\n- Load average (1, 5, 15 min) at start: %s; at end: %s (the machine is shared: other work on it shows here)\n\n",
		m.Date, m.NumCPU, m.CPU, m.Kernel, m.GoVersion, b.ottoolexec, tree, m.Commit, m.LoadStart, m.LoadEnd)
}
