package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// program is one program whose build cost is measured.
type program struct {
	Name  string   // short name for files and tables
	Desc  string   // what it is, for the report
	Dir   string   // module directory the go command runs in
	Pkgs  []string // main packages to build
	Flags []string // build flags of the program's own (-tags)
}

// buildEnv is the environment of every measured build: the same module
// cache for all, no network (everything was downloaded beforehand), the
// local toolchain, no VCS stamping.
func (b *bench) buildEnv(gocache, otcache, probeLog string) []string {
	set := map[string]string{
		"GOCACHE":     gocache,
		"GOFLAGS":     "-buildvcs=false",
		"GOTOOLCHAIN": "local",
		"GOPROXY":     "off",
		"GOWORK":      "off",
	}
	if otcache != "" {
		set["OTTOOLEXEC_CACHE"] = otcache
	}
	if probeLog != "" {
		set[probeEnv] = probeLog
	}
	return envWith(os.Environ(), set, "OTTOOLEXEC_DISABLE", "OTTOOLEXEC_INTEGRATIONS", "OTTOOLEXEC_NESTED_ID", "GOEXPERIMENT", "GODEBUG")
}

type buildMode int

const (
	plainBuild buildMode = iota
	instrBuild
	probeBuild // instrumented, with the probe in front of ottoolexec
)

func (m buildMode) String() string {
	return [...]string{"plain", "instrumented", "instrumented (probed)"}[m]
}

// goBuild builds p's packages into outDir.
func (b *bench) goBuild(ctx context.Context, p *program, mode buildMode, what, gocache, otcache, outDir, probeLog string) (cmdResult, error) {
	if err := os.MkdirAll(outDir, 0o777); err != nil {
		return cmdResult{}, err
	}
	args := []string{b.goCmd, "build", "-o", outDir + "/"}
	switch mode {
	case instrBuild:
		args = append(args, "-toolexec="+b.ottoolexec)
	case probeBuild:
		args = append(args, "-toolexec="+b.self+" tool "+b.ottoolexec)
	}
	args = append(args, p.Flags...)
	args = append(args, p.Pkgs...)
	if mode == plainBuild {
		otcache = ""
	}
	what = fmt.Sprintf("%s of %s", what, p.Name)
	env := b.buildEnv(gocache, otcache, probeLog)
	if mode != probeBuild {
		return runCmd(ctx, what, p.Dir, env, args...)
	}
	// Processes that ottoolexec detaches from the build are reparented to
	// this program; watch them the way the probe watches an invocation's
	// children.
	w := &detachedWatch{desc: make(map[int]*descRecord), stop: make(chan struct{}), done: make(chan struct{})}
	res, err := runCmdWatch(ctx, w.start, what, p.Dir, env, args...)
	w.finish()
	b.detached = w
	return res, err
}

// detachedWatch records the processes a probed build detaches.
type detachedWatch struct {
	build      int   // pid of the go command
	startNs    int64 // when it started
	startTicks int64
	desc       map[int]*descRecord
	stop, done chan struct{}
}

func (w *detachedWatch) start(p *os.Process) {
	w.build, w.startNs = p.Pid, time.Now().UnixNano()
	_, w.startTicks, _ = readStat(p.Pid)
	self := os.Getpid()
	go func() {
		defer close(w.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case now := <-t.C:
				scanDescendants(self, w.build, w.desc, now)
			}
		}
	}()
}

func (w *detachedWatch) finish() {
	if w.build != 0 {
		close(w.stop)
		<-w.done
	}
}

// record presents the detached processes as one pseudo-invocation.
func (w *detachedWatch) record() *probeRecord {
	r := &probeRecord{Tool: "(detached)", Start: w.startNs, Ticks: w.startTicks}
	for _, d := range w.desc {
		r.Desc = append(r.Desc, d)
	}
	return r
}

// buildResult holds the figures of one program.
type buildResult struct {
	Prog                       *program
	ColdPlain, ColdInstr       []cmdResult
	RebuildPlain, RebuildInstr []time.Duration
	SizePlain, SizeInstr       map[string]int64
	Cold, Cached               *probeReport
	Memo                       *memoReport
	Setup                      time.Duration
}

// measureBuild runs the whole build-cost protocol for one program.
func (b *bench) measureBuild(ctx context.Context, p *program) (*buildResult, error) {
	r := &buildResult{Prog: p}
	dir, err := os.MkdirTemp(b.tmp, p.Name+"-")
	if err != nil {
		return nil, err
	}
	if !b.keep {
		defer os.RemoveAll(dir)
	}
	path := func(parts ...string) string { return filepath.Join(append([]string{dir}, parts...)...) }

	// Cold builds, plain and instrumented in turn; the order swaps every
	// pair so that a slow spell of the machine does not always hit the
	// same side.
	for i := range b.coldRuns {
		modes := []buildMode{plainBuild, instrBuild}
		if i%2 == 1 {
			modes = []buildMode{instrBuild, plainBuild}
		}
		for _, mode := range modes {
			tag := fmt.Sprintf("%s-%d", mode, i)
			what := fmt.Sprintf("cold %s build %d/%d", mode, i+1, b.coldRuns)
			res, err := b.goBuild(ctx, p, mode, what, path("gocache-"+tag), path("otcache-"+tag), path("out-"+tag), "")
			if err != nil {
				return nil, err
			}
			b.logf("  %-36s %6.1f s wall  %6.1f s cpu  maxrss %4.0f MB  (load %s at start)%s", what, secs(res.Wall), secs(res.CPU), mb(res.MaxRSSKB), res.Load, orphanNote(res))
			if mode == plainBuild {
				r.ColdPlain = append(r.ColdPlain, res)
			} else {
				r.ColdInstr = append(r.ColdInstr, res)
			}
		}
		if i < b.coldRuns-1 { // the last pair's caches are kept for the cached rebuilds
			for _, mode := range modes {
				tag := fmt.Sprintf("%s-%d", mode, i)
				for _, d := range []string{"gocache-", "otcache-", "out-"} {
					os.RemoveAll(path(d + tag))
				}
			}
		}
	}
	last := b.coldRuns - 1
	tag := func(m buildMode) string { return fmt.Sprintf("%s-%d", m, last) }
	if r.SizePlain, err = binarySizes(path("out-" + tag(plainBuild))); err != nil {
		return nil, err
	}
	if r.SizeInstr, err = binarySizes(path("out-" + tag(instrBuild))); err != nil {
		return nil, err
	}

	// Fully cached rebuilds on the caches the last cold pair filled. The
	// outputs are deleted first, so that every rebuild links.
	for i := range b.rebuilds {
		modes := []buildMode{plainBuild, instrBuild}
		if i%2 == 1 {
			modes = []buildMode{instrBuild, plainBuild}
		}
		for _, mode := range modes {
			out := path("out-" + tag(mode))
			os.RemoveAll(out)
			what := fmt.Sprintf("cached %s rebuild %d/%d", mode, i+1, b.rebuilds)
			res, err := b.goBuild(ctx, p, mode, what, path("gocache-"+tag(mode)), path("otcache-"+tag(mode)), out, "")
			if err != nil {
				return nil, err
			}
			if mode == plainBuild {
				r.RebuildPlain = append(r.RebuildPlain, res.Wall)
			} else {
				r.RebuildInstr = append(r.RebuildInstr, res.Wall)
			}
		}
	}
	b.logf("  cached rebuilds: plain median %.2f s, instrumented median %.2f s (%d each)",
		median(durations(r.RebuildPlain)), median(durations(r.RebuildInstr)), b.rebuilds)
	for _, m := range []buildMode{plainBuild, instrBuild} {
		for _, d := range []string{"gocache-", "otcache-", "out-"} {
			os.RemoveAll(path(d + tag(m)))
		}
	}

	// One more cold instrumented build, with the probe in front of every
	// ottoolexec invocation: where the time goes and how much memory
	// ottoolexec takes. Then a cached rebuild, probed the same way.
	if !b.probe {
		return r, nil
	}
	coldLog, cachedLog := path("probe-cold.jsonl"), path("probe-cached.jsonl")
	gocache, otcache, out := path("gocache-probe"), path("otcache-probe"), path("out-probe")
	res, err := b.goBuild(ctx, p, probeBuild, "cold probed build", gocache, otcache, out, coldLog)
	if err != nil {
		return nil, err
	}
	b.logf("  %-36s %6.1f s wall (probe overhead included)", "cold probed build", secs(res.Wall))
	if data, err := json.MarshalIndent(b.detached.record(), "", "\t"); err == nil {
		os.WriteFile(path("probe-cold-detached.json"), data, 0o666)
	}
	if r.Cold, err = analyzeProbe(coldLog, res, b.detached.record()); err != nil {
		return nil, err
	}
	os.RemoveAll(out)
	res, err = b.goBuild(ctx, p, probeBuild, "cached probed rebuild", gocache, otcache, out, cachedLog)
	if err != nil {
		return nil, err
	}
	if r.Cached, err = analyzeProbe(cachedLog, res, b.detached.record()); err != nil {
		return nil, err
	}
	if r.Memo, err = b.memo(ctx, p, otcache, gocache); err != nil {
		return nil, err
	}
	return r, nil
}

func orphanNote(res cmdResult) string {
	if res.Orphans == 0 {
		return ""
	}
	return fmt.Sprintf("; %d detached process(es) ran on %.2f s after it", res.Orphans, res.OrphanWait.Seconds())
}

func durations(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

func binarySizes(dir string) (map[string]int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	sizes := make(map[string]int64)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			sizes[e.Name()] = info.Size()
		}
	}
	if len(sizes) == 0 {
		return nil, fmt.Errorf("no binary in %s", dir)
	}
	return sizes, nil
}

// memoReport compares the packages ottoolexec's nested resolution compiled
// for the runtime with the packages of the program itself.
type memoReport struct {
	RuntimePkgs, RuntimeStd int      // in the runtime's closure
	ProgramPkgs             int      // in the program's own closure
	Added                   []string // in the runtime's closure but not the program's
	AddedStd                int
}

func (b *bench) memo(ctx context.Context, p *program, otcache, gocache string) (*memoReport, error) {
	// One memo per package set resolved (the main packages', each spliced
	// library's runtime half): their union is what the runtime added.
	files, _ := filepath.Glob(filepath.Join(otcache, "resolve", "*", "archives-*.json"))
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no archives memo in %s", p.Name, otcache)
	}
	pkgs := make(map[string]struct{ Standard bool })
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &pkgs); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	res, err := runCmd(ctx, "listing the packages of "+p.Name, p.Dir, b.buildEnv(gocache, "", ""),
		append([]string{b.goCmd, "list", "-deps", "-f", "{{.ImportPath}}"}, p.Pkgs...)...)
	if err != nil {
		return nil, err
	}
	own := make(map[string]bool)
	for _, line := range strings.Fields(string(res.Stdout)) {
		own[line] = true
	}
	m := &memoReport{RuntimePkgs: len(pkgs), ProgramPkgs: len(own)}
	for path, pk := range pkgs {
		if pk.Standard {
			m.RuntimeStd++
		}
		if !own[path] {
			m.Added = append(m.Added, path)
			if pk.Standard {
				m.AddedStd++
			}
		}
	}
	sort.Strings(m.Added)
	return m, nil
}

// passThrough times one tool invocation that ottoolexec passes straight
// through (`compile -V`: no package, nothing to instrument) against the
// same invocation run directly and through the smallest Go wrapper (a
// main that only execs its arguments: the floor for any toolexec written
// in Go), in turn, n times each.
type passResult struct {
	N                    int
	Direct, Minimal, Via float64 // median ms per invocation
}

const minimalWrapper = `package main

import (
	"os"
	"syscall"
)

func main() { syscall.Exec(os.Args[1], os.Args[1:], os.Environ()) }
`

func (b *bench) passThrough(ctx context.Context, n int) (*passResult, error) {
	env := envWith(os.Environ(), map[string]string{"GOFLAGS": "-buildvcs=false", "GOTOOLCHAIN": "local", "GOWORK": "off"})
	out, err := runCmd(ctx, "go env GOTOOLDIR", b.root, env, b.goCmd, "env", "GOTOOLDIR")
	if err != nil {
		return nil, err
	}
	compile := filepath.Join(strings.TrimSpace(string(out.Stdout)), "compile")
	src := filepath.Join(b.tmp, "minwrap")
	if err := os.MkdirAll(src, 0o777); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(minimalWrapper), 0o666); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module minwrap\n\ngo 1.22\n"), 0o666); err != nil {
		return nil, err
	}
	minwrap := filepath.Join(src, "minwrap")
	if _, err := runCmd(ctx, "building the minimal Go wrapper", src, env, b.goCmd, "build", "-o", minwrap, "."); err != nil {
		return nil, err
	}
	env = b.buildEnv(filepath.Join(b.tmp, "gocache-pass"), filepath.Join(b.tmp, "otcache-pass"), "")
	ways := []struct {
		what string
		pre  []string
		ms   []float64
	}{
		{what: "compile -V"},
		{what: "minimal wrapper: compile -V", pre: []string{minwrap}},
		{what: "ottoolexec compile -V", pre: []string{b.ottoolexec}},
	}
	for i := range n {
		for k := range ways {
			w := &ways[(i+k)%len(ways)]
			res, err := runCmd(ctx, w.what, b.tmp, env, append(append([]string(nil), w.pre...), compile, "-V")...)
			if err != nil {
				return nil, err
			}
			w.ms = append(w.ms, float64(res.Wall.Microseconds())/1e3)
		}
	}
	return &passResult{N: n, Direct: median(ways[0].ms), Minimal: median(ways[1].ms), Via: median(ways[2].ms)}, nil
}
