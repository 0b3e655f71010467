package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ottoolexec/ottoolexec/runtime/spanfile"
)

// binDir holds the ottoolexec binary the scripts run, built once per test
// process from this checkout.
var binDir string

func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == envDumpArg {
		dumpEnv(os.Args[2])
	}
	dir, err := os.MkdirTemp("", "ottoolexec-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "ottoolexec"), ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	build.Env = append(os.Environ(), "GOFLAGS=")
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building ottoolexec:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goEnv returns `go env name` for the test process.
func goEnv(t testing.TB, name string) string {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// TestScripts runs testdata/script/*.txtar. Each script is a user's
// session: it writes a small module, builds it with ottoolexec, runs it and
// checks the spans it emitted with the spans command.
func TestScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("scripts build and run real programs; skipped in -short mode")
	}
	// The scripts share the build and module caches of the test process:
	// testscript hides HOME, and a cold cache per script would cost
	// minutes each.
	shared := map[string]string{
		"GOCACHE":          goEnv(t, "GOCACHE"),
		"GOMODCACHE":       goEnv(t, "GOMODCACHE"),
		"GOPROXY":          goEnv(t, "GOPROXY"),
		"GOSUMDB":          goEnv(t, "GOSUMDB"),
		"GOTOOLCHAIN":      "local",
		"GOFLAGS":          "",
		"OTTOOLEXEC_CACHE": ottoolexecCache(t),
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("..", "..", "testdata", "script"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Setenv("OTTOOLEXEC", filepath.Join(binDir, "ottoolexec"))
			// The checkout the binary was built from, for scripts that
			// use it as a module directory.
			src, err := filepath.Abs(filepath.Join("..", ".."))
			if err != nil {
				return err
			}
			env.Setenv("OTTOOLEXEC_SRC", src)
			for k, v := range shared {
				env.Setenv(k, v)
			}
			env.Setenv("GOROOT_BIN", filepath.Join(goEnv(t, "GOROOT"), "bin"))
			predownload(env)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"spans":    cmdSpans,
			"waitfor":  cmdWaitFor,
			"modproxy": cmdModProxy,
			"jaeger":   cmdJaeger,
			"symbols":  cmdSymbols,
			"start":    cmdStart,
			"signal":   cmdSignal,
			"ended":    cmdEnded,
			"capture":  cmdCapture,
			"freeport": cmdFreePort,
			"publish":  cmdPublish,
			"dynalite": cmdDynalite,
		},
		Condition:           serviceCondition,
		RequireExplicitExec: true,
	})
}

// predownload fills the module cache with what the script's modules
// require (every go.mod, go.mod.VERSION and NAME.mod the script ships,
// with its go.sum, go.sum.VERSION or NAME.sum), so that on a machine whose
// module cache lacks them the first build prints no "go: downloading"
// lines where a script expects a silent build. It works on copies in a
// temporary directory: go mod download may add lines to a go.sum, and
// the script's own files must stay as written. Best effort: a module that
// only a proxy the script sets up serves fails here and is fetched by the
// script itself.
func predownload(env *testscript.Env) {
	filepath.WalkDir(env.WorkDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		name, dir := d.Name(), filepath.Dir(path)
		var sum string
		switch {
		case name == "go.mod":
			sum = "go.sum"
		case strings.HasPrefix(name, "go.mod."):
			sum = "go.sum." + strings.TrimPrefix(name, "go.mod.")
		case strings.HasSuffix(name, ".mod"):
			sum = strings.TrimSuffix(name, ".mod") + ".sum"
		default:
			return nil
		}
		tmp, err := os.MkdirTemp("", "predownload-")
		if err != nil {
			return nil
		}
		defer os.RemoveAll(tmp)
		data, err := os.ReadFile(path)
		if err != nil || os.WriteFile(filepath.Join(tmp, "go.mod"), data, 0o666) != nil {
			return nil
		}
		if data, err := os.ReadFile(filepath.Join(dir, sum)); err == nil {
			os.WriteFile(filepath.Join(tmp, "go.sum"), data, 0o666)
		}
		cmd := exec.Command("go", "mod", "download")
		cmd.Dir = tmp
		cmd.Env = append(append([]string(nil), env.Vars...), "GOFLAGS=-mod=mod")
		cmd.Run()
		return nil
	})
}

// ottoolexecCache is the cache the scripts' builds share: the user's own
// unless OTTOOLEXEC_CACHE says otherwise, as for any build.
func ottoolexecCache(t testing.TB) string {
	if dir := os.Getenv("OTTOOLEXEC_CACHE"); dir != "" {
		return dir
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no cache directory: %v", err)
	}
	return filepath.Join(dir, "ottoolexec")
}

// cmdWaitFor waits until a file exists and is not empty: servers started in
// the background write their address to a file when they listen.
//
//	waitfor addr.txt
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfor file")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if info, err := os.Stat(path); err == nil && info.Size() > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("%s did not appear", args[0])
}

// procs holds the processes each script started with the start command,
// by name. testscript's own background processes (exec ... &name&) can only
// be killed with INT or KILL and report no exit status; these can be sent
// any signal and are checked for how they ended.
var procs sync.Map // *testscript.TestScript -> map[string]*proc

type proc struct {
	cmd            *exec.Cmd
	stdout, stderr strings.Builder
	done           chan struct{}
}

func scriptProcs(ts *testscript.TestScript) map[string]*proc {
	m, loaded := procs.LoadOrStore(ts, map[string]*proc{})
	if !loaded {
		ts.Defer(func() {
			for _, p := range m.(map[string]*proc) {
				p.cmd.Process.Kill()
				<-p.done
			}
			procs.Delete(ts)
		})
	}
	return m.(map[string]*proc)
}

// cmdStart starts a program in the background, in the script's directory
// and environment, as exec does. Check how it ended with ended.
//
//	start name program [args...]
func cmdStart(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: start name program [args...]")
	}
	m := scriptProcs(ts)
	if _, ok := m[args[0]]; ok {
		ts.Fatalf("a process named %s is already started", args[0])
	}
	env := scriptEnv(ts)
	prog := args[1]
	if filepath.Base(prog) == prog {
		prog = lookPath(ts, prog)
	} else {
		prog = ts.MkAbs(prog)
	}
	p := &proc{cmd: exec.Command(prog, args[2:]...), done: make(chan struct{})}
	p.cmd.Dir = ts.MkAbs(".")
	p.cmd.Env = append(env, "PWD="+p.cmd.Dir)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	ts.Check(p.cmd.Start())
	m[args[0]] = p
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
}

// envDumpArg makes the test binary write its environment to a file and
// exit (see TestMain): testscript exposes a script's variables one by one
// only, so start learns them all by running this binary under them.
const envDumpArg = "-ottoolexec.dumpenv"

func dumpEnv(path string) {
	data, err := json.Marshal(os.Environ())
	if err == nil {
		err = os.WriteFile(path, data, 0o666)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// scriptEnv returns the script's environment.
func scriptEnv(ts *testscript.TestScript) []string {
	self, err := os.Executable()
	ts.Check(err)
	f, err := os.CreateTemp("", "env-*.json")
	ts.Check(err)
	f.Close()
	defer os.Remove(f.Name())
	ts.Check(ts.Exec(self, envDumpArg, f.Name()))
	var env []string
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(f.Name())), &env))
	return env
}

// lookPath finds a program in the script's PATH.
func lookPath(ts *testscript.TestScript, prog string) string {
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		for _, ext := range []string{"", ".exe"} {
			path := filepath.Join(dir, prog+ext)
			if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
				return path
			}
		}
	}
	ts.Fatalf("%s not found in PATH", prog)
	return ""
}

// signals are the signal names signal and ended understand.
var signals = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT,
	"KILL": syscall.SIGKILL, "TERM": syscall.SIGTERM,
}

func signalByName(ts *testscript.TestScript, name string) syscall.Signal {
	sig, ok := signals[strings.TrimPrefix(name, "SIG")]
	if !ok {
		ts.Fatalf("unknown signal %s", name)
	}
	return sig
}

// cmdSignal sends a signal (HUP, INT, QUIT, KILL or TERM) to a process
// started with start.
//
//	signal name SIG
func cmdSignal(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: signal name SIG")
	}
	p, ok := scriptProcs(ts)[args[0]]
	if !ok {
		ts.Fatalf("no process named %s", args[0])
	}
	ts.Check(p.cmd.Process.Signal(signalByName(ts, args[1])))
}

// cmdEnded waits for a process started with start to end, checks how it
// ended, and makes its output the stdout and stderr that the next stdout
// and stderr commands look at.
//
//	ended name exit N          it exited with status N
//	ended name signal SIG      it was killed by signal SIG
func cmdEnded(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 || args[1] != "exit" && args[1] != "signal" {
		ts.Fatalf("usage: ended name exit N | ended name signal SIG")
	}
	m := scriptProcs(ts)
	p, ok := m[args[0]]
	if !ok {
		ts.Fatalf("no process named %s", args[0])
	}
	<-p.done
	delete(m, args[0])
	ts.Stdout().Write([]byte(p.stdout.String()))
	ts.Stderr().Write([]byte(p.stderr.String()))
	state := p.cmd.ProcessState
	ws, _ := state.Sys().(syscall.WaitStatus)
	switch args[1] {
	case "exit":
		want, err := strconv.Atoi(args[2])
		ts.Check(err)
		if !state.Exited() || state.ExitCode() != want {
			ts.Fatalf("%s ended with %v, want exit status %d", args[0], state, want)
		}
	case "signal":
		want := signalByName(ts, args[2])
		if !ws.Signaled() || ws.Signal() != want {
			ts.Fatalf("%s ended with %v, want death by signal %v", args[0], state, want)
		}
	}
}

// cmdCapture sets a script variable to a value the last command printed:
// the first parenthesised group of regexp (multi-line mode, as for stdout)
// in its standard output. Later commands use it as $NAME, so that an id a
// program printed can be looked up in its trace file.
//
//	capture NAME regexp
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: capture NAME regexp")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	if re.NumSubexp() < 1 {
		ts.Fatalf("capture %s: %q has no group to capture", args[0], args[1])
	}
	m := re.FindStringSubmatch(ts.ReadFile("stdout"))
	if m == nil {
		ts.Fatalf("capture %s: no match for %q in stdout", args[0], args[1])
	}
	ts.Setenv(args[0], m[1])
	ts.Logf("%s=%s", args[0], m[1])
}

// cmdFreePort sets a script variable to a TCP port on 127.0.0.1 that was
// free a moment ago, for programs that take a fixed address and do not
// say which port they chose when given port 0.
//
//	freeport NAME
func cmdFreePort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: freeport NAME")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	port := l.Addr().(*net.TCPAddr).Port
	ts.Check(l.Close())
	ts.Setenv(args[0], strconv.Itoa(port))
	ts.Logf("%s=%d", args[0], port)
}

// cmdSymbols checks a binary's symbol table as `go tool nm` lists it,
// without copying the whole table (thousands of lines) into the log.
//
//	symbols binary regexp      some symbol name matches regexp
//	! symbols binary regexp    no symbol name matches (the first matches are
//	                           printed when some do)
func cmdSymbols(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: symbols binary regexp")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	out, err := exec.Command("go", "tool", "nm", ts.MkAbs(args[0])).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			ts.Fatalf("go tool nm %s: %v\n%s", args[0], err, ee.Stderr)
		}
		ts.Fatalf("go tool nm %s: %v", args[0], err)
	}
	var found []string
	for _, line := range strings.Split(string(out), "\n") {
		// "address type name", or "type name" for undefined symbols.
		f := strings.Fields(line)
		if len(f) >= 3 && len(f[1]) == 1 {
			f = f[1:]
		}
		if len(f) < 2 {
			continue
		}
		if name := strings.Join(f[1:], " "); re.MatchString(name) {
			found = append(found, name)
		}
	}
	switch {
	case !neg && len(found) == 0:
		ts.Fatalf("no symbol of %s matches %q", args[0], args[1])
	case neg && len(found) > 0:
		n := len(found)
		if n > 10 {
			found = append(found[:10], "...")
		}
		ts.Fatalf("%d symbols of %s match %q:\n\t%s", n, args[0], args[1], strings.Join(found, "\n\t"))
	}
}

// cmdSpans checks the spans a program wrote to its OTTOOLEXEC_TRACE_FILE.
//
//	spans file count N [filter...]     exactly N spans match every filter
//	spans file has filter...           at least one span matches
//	spans file child parent-filter... -- child-filter...
//	                                   some span matching the child filters
//	                                   has a parent matching the others
//	spans file traces N                the spans belong to exactly N traces
//	spans file tree                    print the trace tree on stdout
//
// A filter is op=NAME, service=NAME, trace_id=HEX, span_id=HEX,
// parent_id=HEX, root (no parent), duration>=D or duration<D (D a Go
// duration such as 200ms), or key=value for a tag (key!=value and !key for
// absence, key~regexp for a value matching regexp); values compare as
// text. log:key=value and log:key~regexp match a span with a log record
// holding such a field.
func cmdSpans(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: spans file count|has|child|traces|tree ...")
	}
	f, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	all, err := spanfile.ReadJSONL(f)
	f.Close()
	ts.Check(err)
	verb, rest := args[1], args[2:]
	var ok bool
	var what string
	switch verb {
	case "tree":
		var b strings.Builder
		ts.Check(spanfile.WriteTree(&b, all))
		ts.Stdout().Write([]byte(b.String()))
		return
	case "count":
		if len(rest) < 1 {
			ts.Fatalf("usage: spans file count N [filter...]")
		}
		want, err := strconv.Atoi(rest[0])
		ts.Check(err)
		got := len(match(ts, all, rest[1:]))
		ok, what = got == want, fmt.Sprintf("%d spans match %q, want %d", got, rest[1:], want)
	case "has":
		got := len(match(ts, all, rest))
		ok, what = got > 0, fmt.Sprintf("%d spans match %q", got, rest)
	case "child":
		i := indexOf(rest, "--")
		if i < 0 {
			ts.Fatalf("usage: spans file child parent-filter... -- child-filter...")
		}
		parents := match(ts, all, rest[:i])
		children := match(ts, all, rest[i+1:])
		for _, c := range children {
			for _, p := range parents {
				if c.ParentID == p.SpanID && c.TraceID == p.TraceID {
					ok = true
				}
			}
		}
		what = fmt.Sprintf("a span matching %q is the child of one matching %q (%d candidate children, %d candidate parents)",
			rest[i+1:], rest[:i], len(children), len(parents))
	case "traces":
		want, err := strconv.Atoi(rest[0])
		ts.Check(err)
		ids := map[string]bool{}
		for _, s := range all {
			ids[s.TraceID] = true
		}
		ok, what = len(ids) == want, fmt.Sprintf("spans belong to %d traces, want %d", len(ids), want)
	default:
		ts.Fatalf("unknown spans verb %q", verb)
	}
	if ok == neg {
		var b strings.Builder
		spanfile.WriteTree(&b, all)
		if neg {
			ts.Fatalf("unexpectedly: %s\n%s", what, b.String())
		}
		ts.Fatalf("%s\n%s", what, b.String())
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func match(ts *testscript.TestScript, all []spanfile.Span, filters []string) []spanfile.Span {
	var out []spanfile.Span
	for _, s := range all {
		if matches(ts, s, filters) {
			out = append(out, s)
		}
	}
	return out
}

// isRegexpFilter reports whether f is key~regexp.
func isRegexpFilter(f string) bool {
	k, _, ok := strings.Cut(f, "~")
	return ok && !strings.ContainsAny(k, "=!")
}

// fieldMatches reports whether fields hold what cond (key=value or
// key~regexp) asks for; filter is the whole filter, for messages.
func fieldMatches(ts *testscript.TestScript, fields map[string]any, filter, cond string) bool {
	if isRegexpFilter(cond) {
		k, expr, _ := strings.Cut(cond, "~")
		re, err := regexp.Compile(expr)
		if err != nil {
			ts.Fatalf("bad span filter %q: %v", filter, err)
		}
		v, ok := fields[k]
		return ok && re.MatchString(fmt.Sprint(v))
	}
	k, want, ok := strings.Cut(cond, "=")
	if !ok {
		ts.Fatalf("bad span filter %q", filter)
	}
	v, ok := fields[k]
	return ok && fmt.Sprint(v) == want
}

func matches(ts *testscript.TestScript, s spanfile.Span, filters []string) bool {
	for _, f := range filters {
		switch {
		case f == "root":
			if s.ParentID != "" {
				return false
			}
		case strings.HasPrefix(f, "duration>=") || strings.HasPrefix(f, "duration<"):
			atLeast := strings.HasPrefix(f, "duration>=")
			v := strings.TrimPrefix(strings.TrimPrefix(f, "duration>="), "duration<")
			d, err := time.ParseDuration(v)
			if err != nil {
				ts.Fatalf("bad span filter %q: %v", f, err)
			}
			if atLeast && s.Duration < d || !atLeast && s.Duration >= d {
				return false
			}
		case strings.HasPrefix(f, "log:"):
			found := false
			for _, l := range s.Logs {
				found = found || fieldMatches(ts, l.Fields, f, strings.TrimPrefix(f, "log:"))
			}
			if !found {
				return false
			}
		case isRegexpFilter(f):
			if !fieldMatches(ts, s.Tags, f, f) {
				return false
			}
		case strings.HasPrefix(f, "!"):
			if _, ok := s.Tags[f[1:]]; ok {
				return false
			}
		case strings.Contains(f, "!="):
			k, v, _ := strings.Cut(f, "!=")
			if got, ok := s.Tags[k]; ok && fmt.Sprint(got) == v {
				return false
			}
		case strings.Contains(f, "="):
			k, v, _ := strings.Cut(f, "=")
			var got any
			var ok bool
			switch k {
			case "op":
				got, ok = s.Operation, true
			case "service":
				got, ok = s.Service, true
			case "trace_id":
				got, ok = s.TraceID, true
			case "span_id":
				got, ok = s.SpanID, true
			case "parent_id":
				got, ok = s.ParentID, true
			default:
				got, ok = s.Tags[k]
			}
			if !ok || fmt.Sprint(got) != v {
				return false
			}
		default:
			ts.Fatalf("bad span filter %q", f)
		}
	}
	return true
}

// serviceCondition is the script condition [service:HOST:PORT]: is a real
// service the script talks to listening? Scripts skip when it is not:
//
//	[!service:127.0.0.1:5432] skip 'PostgreSQL is not running: README.md, section Tests, says how to start it'
//
// Under CI (CI set, as .ci/run does) an unreachable service is an error
// instead, so that a CI run never passes by skipping.
func serviceCondition(cond string) (bool, error) {
	addr, ok := strings.CutPrefix(cond, "service:")
	if !ok {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err == nil {
		conn.Close()
		return true, nil
	}
	if os.Getenv("CI") != "" {
		return false, fmt.Errorf("service at %s is not reachable under CI: %w", addr, err)
	}
	return false, nil
}
