// Command bench measures what ottoolexec costs: the build (cold and cached,
// instrumented against plain, with ottoolexec's own memory and time broken
// down), the run time of a traced HTTP round trip against the same
// program traced by hand with go-stdlib's nethttp, and micro-benchmarks of
// the splices themselves (a hook with tracing disabled, goroutine creation
// with the goroutine-local slot, CurrentSpan without a context). It writes
// a Markdown report; see bench/README.md.
//
//	go run ./bench -ottoolexec bin/ottoolexec -out bench/RESULTS.md [-only build|runtime|roundtrip|micro]
//
// Every figure is compared with a baseline measured in the same run;
// nothing here passes or fails on time.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type bench struct {
	ottoolexec string // absolute path of the ottoolexec binary
	self       string // this program, as the probe
	goCmd      string
	root       string // the ottoolexec repository
	tmp        string // every temporary file lives under here

	coldRuns, rebuilds int
	probe              bool
	rtN, rtRounds      int
	clientN            int
	microRounds        int
	loadRounds         int
	benchtime          string // -test.benchtime of the micro-benchmarks
	keep               bool

	detached *detachedWatch // of the last probed build
}

func main() {
	// The probe mode: this program in front of ottoolexec as the go
	// command's toolexec (see probe.go).
	if log := os.Getenv(probeEnv); log != "" && len(os.Args) > 3 && os.Args[1] == "tool" {
		os.Exit(probeMain(log, os.Args[2:]))
	}
	os.Exit(realMain())
}

func realMain() int {
	var (
		ottoolexec = flag.String("ottoolexec", "", "the ottoolexec binary to measure (required)")
		out        = flag.String("out", "bench/RESULTS.md", "write the report here")
		only       = flag.String("only", "", "run only one part: build, or runtime (= roundtrip, load, micro and clients), roundtrip, load, micro or clients")
		clientSel  = flag.String("clients", "", "client benchmarks to run, comma-separated (default: all)")
		clientsOut = flag.String("clients-out", "bench/RESULTS-clients.md", "write the client-operation report (SQL, ...) here")
		programs   = flag.String("programs", "demo,large,hey,miniflux,crane,migrate", "build programs to measure: demo, large, and the real programs of the scripts realprog_*: hey, miniflux, crane, migrate")
		largeMod   = flag.String("large", "github.com/prometheus/node_exporter@v1.12.1", "the larger program: module@version (its main package is the module path unless -large-pkg says otherwise)")
		largePkg   = flag.String("large-pkg", "", "main package of the larger program (default: the module path)")
		b          bench
	)
	flag.IntVar(&b.coldRuns, "cold", 4, "cold builds of each kind per program (plain and instrumented alternate)")
	flag.IntVar(&b.rebuilds, "rebuilds", 8, "fully cached rebuilds of each kind per program")
	flag.BoolVar(&b.probe, "probe", true, "also run one probed cold build and cached rebuild per program (time and memory of ottoolexec itself)")
	flag.IntVar(&b.rtN, "n", 20000, "round trips per run-time run")
	flag.IntVar(&b.clientN, "client-n", 5000, "calls per client-operation run (SQL, ...)")
	flag.IntVar(&b.rtRounds, "rounds", 9, "run-time rounds (each runs every variant once)")
	flag.IntVar(&b.microRounds, "micro-rounds", 10, "micro-benchmark rounds (each runs every variant's test binary once)")
	flag.IntVar(&b.loadRounds, "load-rounds", 5, "load-test rounds (each runs every server variant under hey once)")
	flag.StringVar(&b.benchtime, "benchtime", "1s", "-test.benchtime of each micro-benchmark in a round")
	flag.BoolVar(&b.keep, "keep", false, "keep the temporary directory (build caches, probe logs) and print its path")
	flag.Parse()
	parts := map[string]bool{"build": true, "roundtrip": true, "load": true, "micro": true, "clients": true}
	switch *only {
	case "":
	case "runtime":
		parts = map[string]bool{"roundtrip": true, "load": true, "micro": true, "clients": true}
	case "build", "roundtrip", "load", "micro", "clients":
		parts = map[string]bool{*only: true}
	default:
		flag.Usage()
		return 2
	}
	if *ottoolexec == "" || flag.NArg() > 0 || b.clientN < 1 || b.coldRuns < 1 || b.rebuilds < 1 || b.rtRounds < 1 || b.microRounds < 1 || b.loadRounds < 1 {
		flag.Usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Should ottoolexec leave detached processes behind, as the subreaper
	// this program waits for them and counts their cost with the build that
	// started them.
	if err := becomeSubreaper(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	if err := b.init(*ottoolexec); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	defer func() {
		if b.keep {
			b.logf("kept %s", b.tmp)
		} else {
			os.RemoveAll(b.tmp)
		}
	}()
	m := readMachine(ctx, b.goCmd, b.root)
	b.logf("bench: %s, %d CPUs (%s), %s; temporary files in %s", m.GoVersion, m.NumCPU, m.CPU, m.Date, b.tmp)

	// The micro-benchmarks' binaries are built first: the traced one takes
	// the runtime from the working tree, which must still be the one
	// ottoolexec was built from.
	var mb *microBuild
	if parts["micro"] {
		b.logf("run time: building the micro-benchmarks (bench/micro)")
		var err error
		if mb, err = b.buildMicro(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 1
		}
	}

	var builds []*buildResult
	var pass *passResult
	var rt *runtimeResult
	var micro *microResult
	var err error
	if parts["build"] {
		b.logf("build cost: pass-through of one tool invocation")
		if pass, err = b.passThrough(ctx, 100); err == nil {
			b.logf("  compile -V: %.1f ms direct, %.1f ms through a minimal Go wrapper, %.1f ms through ottoolexec (medians of %d)", pass.Direct, pass.Minimal, pass.Via, pass.N)
			builds, err = b.measureBuilds(ctx, *programs, *largeMod, *largePkg)
		}
	}
	if err == nil && parts["roundtrip"] {
		b.logf("run time: HTTP round trips over loopback")
		rt, err = b.measureRuntime(ctx)
	}
	var load *loadResult
	if err == nil && parts["load"] {
		b.logf("run time: a server under load from hey")
		load, err = b.measureLoad(ctx)
	}
	if err == nil && parts["micro"] {
		b.logf("run time: micro-benchmarks of the splices (bench/micro)")
		micro, err = b.measureMicro(ctx, mb)
	}
	var clients []*clientResult
	if err == nil && parts["clients"] {
		clients, err = b.measureClients(ctx, *clientSel)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	m.LoadEnd = loadAvg()
	if len(clients) > 0 {
		report := b.clientReport(m, clients)
		fmt.Print("\n" + report)
		if *clientsOut != "" {
			if err := os.WriteFile(*clientsOut, []byte(report), 0o666); err != nil {
				fmt.Fprintf(os.Stderr, "bench: %v\n", err)
				return 1
			}
			b.logf("wrote %s", *clientsOut)
		}
	}
	if !parts["build"] && !parts["roundtrip"] && !parts["load"] && !parts["micro"] {
		return 0
	}
	report := b.report(m, pass, builds, rt, load, micro)
	fmt.Print("\n" + report)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report), 0o666); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 1
		}
		b.logf("wrote %s", *out)
	}
	return 0
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func (b *bench) init(ottoolexec string) error {
	var err error
	if b.ottoolexec, err = filepath.Abs(ottoolexec); err != nil {
		return err
	}
	if _, err := os.Stat(b.ottoolexec); err != nil {
		return fmt.Errorf("-ottoolexec: %w (run `make build` first)", err)
	}
	if b.self, err = os.Executable(); err != nil {
		return err
	}
	if strings.ContainsAny(b.self+b.ottoolexec, " \t'\"") {
		return fmt.Errorf("the probe needs paths without blanks or quotes: %s, %s", b.self, b.ottoolexec)
	}
	if b.goCmd, err = exec.LookPath("go"); err != nil {
		return err
	}
	if b.root, err = repoRoot(); err != nil {
		return err
	}
	if b.tmp, err = os.MkdirTemp("", "ottoolexec-bench-"); err != nil {
		return err
	}
	if rel, err := filepath.Rel(b.root, b.tmp); err == nil && !strings.HasPrefix(rel, "..") {
		os.RemoveAll(b.tmp)
		return fmt.Errorf("the temporary directory %s is inside the repository; set TMPDIR elsewhere", b.tmp)
	}
	return nil
}

// repoRoot finds the ottoolexec module above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/ottoolexec/ottoolexec\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run bench from inside the ottoolexec repository")
		}
		dir = parent
	}
}

// measureBuilds sets up the programs and measures each.
func (b *bench) measureBuilds(ctx context.Context, programs, largeMod, largePkg string) ([]*buildResult, error) {
	var results []*buildResult
	for _, name := range strings.Split(programs, ",") {
		var p *program
		var err error
		start := time.Now()
		switch strings.TrimSpace(name) {
		case "demo":
			p, err = b.setupDemo(ctx)
		case "large":
			p, err = b.setupLarge(ctx, largeMod, largePkg)
		case "hey", "migrate", "crane", "miniflux":
			rp := realPrograms[strings.TrimSpace(name)]
			p, err = b.setupLarge(ctx, rp.modVersion, rp.pkg, rp.flags...)
		case "":
			continue
		default:
			return nil, fmt.Errorf("-programs: unknown program %q (known: demo, large, hey, migrate, crane, miniflux)", name)
		}
		if err != nil {
			return nil, err
		}
		b.logf("build cost: %s (setup %.1f s)", p.Desc, time.Since(start).Seconds())
		r, err := b.measureBuild(ctx, p)
		if err != nil {
			return nil, err
		}
		r.Setup = time.Since(start)
		results = append(results, r)
	}
	return results, nil
}

// prefetch downloads what the measured builds need, so that they can run
// with GOPROXY=off: the modules of dir's module and of the ottoolexec
// runtime (the root module's requirements).
func (b *bench) prefetch(ctx context.Context, what, dir string, pkgs ...string) error {
	env := envWith(os.Environ(), map[string]string{"GOFLAGS": "-buildvcs=false", "GOTOOLCHAIN": "local", "GOWORK": "off"})
	if _, err := runCmd(ctx, "downloading the modules of "+what, dir, env,
		append([]string{b.goCmd, "list", "-deps", "-f", "{{.ImportPath}}"}, pkgs...)...); err != nil {
		return err
	}
	if _, err := runCmd(ctx, "downloading the ottoolexec runtime's modules", b.root, env, b.goCmd, "mod", "download"); err != nil {
		return err
	}
	// The runtime built with the program's module graph can select module
	// versions that neither the program's packages nor the runtime's own
	// go.mod bring (migrate selects another go.uber.org/atomic): one
	// instrumented build, online (on the user's build cache, which the
	// measured builds do not use), fetches them.
	tmp, err := os.MkdirTemp(b.tmp, "prefetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	env = envWith(env, map[string]string{"OTTOOLEXEC_CACHE": filepath.Join(tmp, "otcache")})
	args := []string{b.goCmd, "build", "-toolexec=" + b.ottoolexec, "-o", filepath.Join(tmp, "out") + "/"}
	_, err = runCmd(ctx, "an online instrumented build of "+what+" (fetching the modules the runtime needs with its graph)", dir, env, append(args, pkgs...)...)
	return err
}

func (b *bench) setupDemo(ctx context.Context) (*program, error) {
	p := &program{
		Name: "demo",
		Desc: "examples/demo (front, back, store: three small net/http services)",
		Dir:  filepath.Join(b.root, "examples", "demo"),
		Pkgs: []string{"./front", "./back", "./store"},
	}
	return p, b.prefetch(ctx, p.Name, p.Dir, append(append([]string(nil), p.Flags...), p.Pkgs...)...)
}

// realPrograms are the programs nobody here wrote that the scripts
// realprog_* build with the injector and check the spans of.
var realPrograms = map[string]struct {
	modVersion, pkg string
	flags           []string
}{
	"hey":      {"github.com/rakyll/hey@v0.1.5", "", nil},
	"migrate":  {"github.com/golang-migrate/migrate/v4@v4.20.1", "github.com/golang-migrate/migrate/v4/cmd/migrate", []string{"-tags", "postgres"}},
	"crane":    {"github.com/google/go-containerregistry@v0.22.1", "github.com/google/go-containerregistry/cmd/crane", nil},
	"miniflux": {"miniflux.app/v2@v2.3.5", "", nil},
}

// programName is what go install names the binary of main package pkg:
// its last element, or the one before a major version suffix
// (miniflux.app/v2 is miniflux.app).
func programName(pkg string) string {
	name := path.Base(pkg)
	if len(name) > 1 && name[0] == 'v' && strings.Trim(name[1:], "0123456789") == "" {
		name = path.Base(path.Dir(pkg))
	}
	return name
}

// setupLarge makes a throwaway module outside the repository that requires
// the program at its published version, through the module proxy.
func (b *bench) setupLarge(ctx context.Context, modVersion, pkg string, flags ...string) (*program, error) {
	mod, version, ok := strings.Cut(modVersion, "@")
	if !ok || version == "" {
		return nil, fmt.Errorf("-large %q: want module@version", modVersion)
	}
	if pkg == "" {
		pkg = mod
	}
	dir, err := os.MkdirTemp(b.tmp, "module-")
	if err != nil {
		return nil, err
	}
	p := &program{
		Name:  programName(pkg),
		Desc:  fmt.Sprintf("%s at %s (program %s), from the module proxy in a throwaway module", mod, version, pkg),
		Dir:   dir,
		Pkgs:  []string{pkg},
		Flags: flags,
	}
	if len(flags) > 0 {
		p.Desc += ", built with " + strings.Join(flags, " ")
	}
	env := envWith(os.Environ(), map[string]string{"GOFLAGS": "-buildvcs=false", "GOTOOLCHAIN": "local", "GOWORK": "off"})
	if _, err := runCmd(ctx, "setting up the module for "+mod, dir, env, b.goCmd, "mod", "init", "ottoolexec.bench/large"); err != nil {
		return nil, err
	}
	if _, err := runCmd(ctx, "getting "+modVersion, dir, env, b.goCmd, "get", "-tool", pkg+"@"+version); err != nil {
		return nil, err
	}
	return p, b.prefetch(ctx, p.Name, p.Dir, append(append([]string(nil), p.Flags...), p.Pkgs...)...)
}
