package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// tickNs is the length of a /proc start-time tick: USER_HZ is 100 on every
// Linux architecture Go supports.
const tickNs = int64(10 * time.Millisecond)

// probeReport sums up the probe records of one build.
type probeReport struct {
	Wall                 time.Duration
	Records              []*probeRecord
	ByTool               []*toolAgg
	PhaseTotal           time.Duration // ottoolexec's own time, all top-level invocations
	Slowest              []*probeRecord
	PlainCompileMedianMs float64 // median own time of compiles that are no -V=full query
	PlainCompiles        int

	PeakOt        int64 // peak RSS of an ottoolexec process before it execs, top level or nested
	PeakOtWhere   string
	PeakTree      int64 // largest wait4 maxrss of a top-level invocation (tool included)
	PeakTreeWhere string

	GoCmds          []goCmd  // go commands ottoolexec started
	NestedCompiles  []string // packages seen compiling under them
	NestedToolexecs int      // nested ottoolexec processes seen

	// What the parent build did while the nested go list -export ran.
	Export                      *goCmd
	ExportOther, ExportWaiting  time.Duration // other tool work; other main compiles (waiting for the same resolution)
	ExportOthers, ExportWaiters int
	ExportTail                  time.Duration // from the end of the parent's last other invocation to the end of the go list

	// Packages both the build and a nested command compiled, with the
	// build's compile time for them.
	Twice          []*probeRecord
	TwiceTime      time.Duration
	ParentCompiles int

	Orphans    int           // detached processes reaped after the build
	OrphanWait time.Duration // how long they ran on after it
}

type toolAgg struct {
	Tool    string
	Count   int
	Phase   time.Duration
	MaxHWM  int64
	MaxTree int64
}

type goCmd struct {
	under      *probeRecord
	start, end int64  // unix ns
	Under      string // the top-level invocation that started it
	Args       string
	Dur        time.Duration // from its start tick to the last time it was seen (±20 ms)
	HWMKB      int64
	Compiles   int // compile processes seen under it
}

func (r *probeRecord) label() string {
	s := r.Tool
	if r.Version {
		s += " -V=full"
	}
	if r.Pkg != "" {
		s += " -p " + r.Pkg
	}
	return s
}

func analyzeProbe(logPath string, build cmdResult, detached *probeRecord) (*probeReport, error) {
	recs, err := readProbeLog(logPath)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("the probe logged nothing in %s: did the build run through it?", logPath)
	}
	rep := &probeReport{Wall: build.Wall, Records: recs, Orphans: build.Orphans, OrphanWait: build.OrphanWait}
	aggs := make(map[string]*toolAgg)
	var plain []float64
	for _, r := range recs {
		a := aggs[r.Tool]
		if a == nil {
			a = &toolAgg{Tool: r.Tool}
			aggs[r.Tool] = a
		}
		a.Count++
		a.Phase += time.Duration(r.PhaseNs)
		a.MaxHWM = max(a.MaxHWM, r.HWMKB)
		a.MaxTree = max(a.MaxTree, r.TreeRSSKB)
		rep.PhaseTotal += time.Duration(r.PhaseNs)
		if r.HWMKB > rep.PeakOt {
			rep.PeakOt, rep.PeakOtWhere = r.HWMKB, r.label()
		}
		if r.TreeRSSKB > rep.PeakTree {
			rep.PeakTree, rep.PeakTreeWhere = r.TreeRSSKB, r.label()
		}
		if r.Tool == "compile" && !r.Version && r.Pkg != "main" {
			plain = append(plain, float64(r.PhaseNs)/1e6)
		}
		rep.addDesc(r)
	}
	if detached != nil && len(detached.Desc) > 0 {
		rep.addDesc(detached)
	}
	for _, a := range aggs {
		rep.ByTool = append(rep.ByTool, a)
	}
	sort.Slice(rep.ByTool, func(i, j int) bool { return rep.ByTool[i].Phase > rep.ByTool[j].Phase })
	rep.PlainCompiles = len(plain)
	rep.PlainCompileMedianMs = median(plain)
	sorted := append([]*probeRecord(nil), recs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].PhaseNs > sorted[j].PhaseNs })
	rep.Slowest = sorted[:min(8, len(sorted))]
	sort.Slice(rep.GoCmds, func(i, j int) bool { return rep.GoCmds[i].Dur > rep.GoCmds[j].Dur })
	sort.Strings(rep.NestedCompiles)
	rep.overlap()

	// Packages compiled by the build itself and again by a nested command.
	parent := make(map[string]*probeRecord)
	for _, r := range recs {
		if r.Tool == "compile" && !r.Version && r.Pkg != "" && r.Pkg != "main" {
			parent[r.Pkg] = r
		}
	}
	seen := make(map[string]bool)
	for _, pkg := range rep.NestedCompiles {
		if r := parent[pkg]; r != nil && !seen[pkg] {
			seen[pkg] = true
			rep.Twice = append(rep.Twice, r)
			rep.TwiceTime += time.Duration(r.TotalNs)
		}
	}
	sort.Slice(rep.Twice, func(i, j int) bool { return rep.Twice[i].TotalNs > rep.Twice[j].TotalNs })
	rep.ParentCompiles = len(parent)
	return rep, nil
}

// addDesc takes in the processes r started (or, for the detached
// pseudo-record, the processes the build detached).
func (rep *probeReport) addDesc(r *probeRecord) {
	byPid := make(map[int]*descRecord)
	for _, d := range r.Desc {
		byPid[d.Pid] = d
	}
	// The go command each descendant runs under, if any.
	goOf := func(d *descRecord) *descRecord {
		for p := byPid[d.PPid]; p != nil; p = byPid[p.PPid] {
			if p.Args != nil && p.Comm == "go" {
				return p
			}
		}
		return nil
	}
	compilesUnder := make(map[int]int)
	for _, d := range r.Desc {
		if d.OtHWMKB > rep.PeakOt {
			what := "ottoolexec " + d.Tool
			if d.Pkg != "" {
				what += " -p " + d.Pkg
			}
			rep.PeakOt, rep.PeakOtWhere = d.OtHWMKB, what+" (under "+r.label()+")"
		}
		if d.OtHWMKB > 0 {
			rep.NestedToolexecs++
		}
		if d.Tool == "compile" && d.Pkg != "" {
			rep.NestedCompiles = append(rep.NestedCompiles, d.Pkg)
			if g := goOf(d); g != nil {
				compilesUnder[g.Pid]++
			}
		}
	}
	for _, d := range r.Desc {
		if d.Args == nil || d.Comm != "go" {
			continue
		}
		if p := byPid[d.PPid]; p != nil && p.Comm == "go" && slices.Equal(p.Args, d.Args) {
			continue // a child of that go command, seen before it exec'd
		}
		start := r.Start + (d.Ticks-r.Ticks)*tickNs
		rep.GoCmds = append(rep.GoCmds, goCmd{
			under: r, start: start, end: d.Last,
			Under: r.label(), Args: goArgs(d.Args), Dur: time.Duration(d.Last - start), HWMKB: d.HWMKB, Compiles: compilesUnder[d.Pid],
		})
	}
}

// overlap finds what the parent build did while the longest nested
// go list -export ran: the tool time of other top-level invocations
// within its window.
func (rep *probeReport) overlap() {
	var g *goCmd
	for i := range rep.GoCmds {
		if strings.Contains(rep.GoCmds[i].Args, " -export") && (g == nil || rep.GoCmds[i].Dur > g.Dur) {
			g = &rep.GoCmds[i]
		}
	}
	if g == nil {
		return
	}
	rep.Export = g
	var lastOther int64 // end of the last invocation, other than main compiles and links, that ended inside the window
	for _, r := range rep.Records {
		end := r.Start + r.TotalNs
		if !(r.Tool == "compile" && r.Pkg == "main") && r.Tool != "link" && end <= g.end {
			lastOther = max(lastOther, end)
		}
		if r == g.under {
			continue
		}
		lo, hi := max(r.Start, g.start), min(r.Start+r.TotalNs, g.end)
		if hi <= lo {
			continue
		}
		if r.Tool == "compile" && r.Pkg == "main" {
			rep.ExportWaiting += time.Duration(hi - lo)
			rep.ExportWaiters++
		} else {
			rep.ExportOther += time.Duration(hi - lo)
			rep.ExportOthers++
		}
	}
	if lastOther > 0 && lastOther < g.end {
		rep.ExportTail = time.Duration(g.end - max(lastOther, g.start))
	}
}

// goArgs shortens a nested go command line for the report.
func goArgs(args []string) string {
	var out []string
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "-modfile="):
			a = "-modfile=<temp>"
		case strings.HasPrefix(a, "-toolexec="):
			a = "-toolexec=<ottoolexec>"
		case strings.HasPrefix(a, "github.com/ottoolexec/ottoolexec/"):
			a = "…/" + a[len("github.com/ottoolexec/ottoolexec/"):]
		}
		out = append(out, a)
	}
	return "go " + strings.Join(out, " ")
}

func isStd(pkg string) bool {
	first, _, _ := strings.Cut(pkg, "/")
	return !strings.Contains(first, ".")
}

// markdown writes the probe report of one build.
func (rep *probeReport) markdown(b *strings.Builder, title string) {
	fmt.Fprintf(b, "%s: %d toolexec invocations, %.2f s of ottoolexec's own time before handing over to the tool (summed; the build ran %.1f s wall with the probe).\n\n",
		title, len(rep.Records), rep.PhaseTotal.Seconds(), rep.Wall.Seconds())
	b.WriteString("| tool | invocations | ottoolexec's own time | its peak RSS | peak RSS incl. the tool |\n|---|---:|---:|---:|---:|\n")
	for _, a := range rep.ByTool {
		fmt.Fprintf(b, "| %s | %d | %.2f s | %.0f MB | %.0f MB |\n", a.Tool, a.Count, a.Phase.Seconds(), mb(a.MaxHWM), mb(a.MaxTree))
	}
	fmt.Fprintf(b, "\nMedian own time of the %d compile invocations other than -V=full and main (pass-through, or splicing a targeted package): %.1f ms.\n\n",
		rep.PlainCompiles, rep.PlainCompileMedianMs)
	b.WriteString("Slowest invocations (ottoolexec's own time):\n\n| invocation | own time | total | its peak RSS |\n|---|---:|---:|---:|\n")
	for _, r := range rep.Slowest {
		fmt.Fprintf(b, "| `%s` | %.0f ms | %.0f ms | %.0f MB |\n", r.label(), float64(r.PhaseNs)/1e6, float64(r.TotalNs)/1e6, mb(r.HWMKB))
	}
	if len(rep.GoCmds) > 0 {
		b.WriteString("\nNested go commands started by ottoolexec (duration from their start to the last time the probe saw them, ±20 ms):\n\n| started under | command | duration | peak RSS | compiles seen under it |\n|---|---|---:|---:|---:|\n")
		for _, g := range rep.GoCmds {
			fmt.Fprintf(b, "| `%s` | `%s` | %.2f s | %.0f MB | %d |\n", g.Under, g.Args, g.Dur.Seconds(), mb(g.HWMKB), g.Compiles)
		}
	}
	if len(rep.NestedCompiles) > 0 {
		var std, other []string
		for _, p := range rep.NestedCompiles {
			if isStd(p) {
				std = append(std, p)
			} else {
				other = append(other, p)
			}
		}
		fmt.Fprintf(b, "\nCompiles seen under nested go commands (sampled every 20 ms, so very short ones can be missed): %d, of which %d standard library", len(rep.NestedCompiles), len(std))
		if len(std) > 30 {
			std = append(std[:30], fmt.Sprintf("and %d more", len(std)-30))
		}
		if len(std) > 0 {
			fmt.Fprintf(b, " (%s)", strings.Join(std, ", "))
		}
		fmt.Fprintf(b, " and %d others.\n", len(other))
	}
	if len(rep.NestedCompiles) > 0 {
		var top []string
		for _, r := range rep.Twice[:min(12, len(rep.Twice))] {
			top = append(top, fmt.Sprintf("%s %.1f s", r.Pkg, float64(r.TotalNs)/1e9))
		}
		fmt.Fprintf(b, "\nThe build itself compiled %d packages (the rest it found in the build cache). **%d packages were compiled twice**, by the build and by a nested go command, at the same time: the build's own compiles of them took %.1f s (wall, summed)",
			rep.ParentCompiles, len(rep.Twice), rep.TwiceTime.Seconds())
		if len(top) > 0 {
			fmt.Fprintf(b, "; the longest: %s", strings.Join(top, ", "))
		}
		b.WriteString(".\n")
	}
	if g := rep.Export; g != nil {
		fmt.Fprintf(b, "\nWhile the nested `go list -export` ran (%.2f s, under `%s`), the parent build ran %.2f s of other tool work (summed over %d invocations, so up to 2 per second of wall on 2 cores); main-package compiles spent %.2f s in all waiting on it (%d of them, not counting one that started it). "+
			"The build had nothing else left to run for the last %.2f s of it.\n",
			g.Dur.Seconds(), g.Under, rep.ExportOther.Seconds(), rep.ExportOthers, rep.ExportWaiting.Seconds(), rep.ExportWaiters, rep.ExportTail.Seconds())
	}
	if rep.Orphans > 0 {
		fmt.Fprintf(b, "\nThe build left %d detached process(es) behind, which ran on for %.2f s after it returned (their CPU time counts in the build's CPU figures).\n", rep.Orphans, rep.OrphanWait.Seconds())
	}
	fmt.Fprintf(b, "\nPeak RSS of an ottoolexec process before it execs the tool: %.0f MB (`%s`). ", mb(rep.PeakOt), rep.PeakOtWhere)
	fmt.Fprintf(b, "Largest peak of a whole invocation, tool and nested go commands included: %.0f MB (`%s`).\n\n", mb(rep.PeakTree), rep.PeakTreeWhere)
}
