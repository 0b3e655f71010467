// Package resolve compiles the runtime's packages for a build by running a
// nested go command, and remembers the result on disk.
//
// The runtime is not in the user's module graph, so it is resolved on a
// temporary -modfile: a copy of the user's go.mod that also requires
// ottoolexec's module, replaced by the runtime source that the ottoolexec
// binary carries (see WriteSource). The user's go.mod and go.sum are never
// written. The nested command repeats the parent build's flags and runs
// with the same toolexec, so that every package it shares with the parent
// build (net/http, spliced the same way, for one) is the very archive the
// parent links.
//
// Resolution happens in two steps. Versions (go list without building)
// says which module versions the runtime gets; it is cheap and feeds the
// tool identity that keys the build cache. Archives (go list -export)
// compiles a set of runtime packages: what main packages import, or what a
// spliced library's new code imports; links ask for the union of those in
// their program, and Warm compiles part of the main packages' set early.
// Both steps are memoised under a key made of everything that can change
// their answer, so a build pays for them once and a rebuild not at all.
package resolve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/ottoolexec/ottoolexec/injector/goflags"
)

// NestedEnv is set in the environment of nested go commands. Its value is
// the tool identity of the parent build; a toolexec invocation that sees it
// splices exactly as the parent does but never starts a resolution itself.
const NestedEnv = "OTTOOLEXEC_NESTED_ID"

// depthEnv counts the nested go commands between a build and the process
// that sees it; maxDepth is where resolution gives up (see Session.list).
const (
	depthEnv = "OTTOOLEXEC_NESTED_DEPTH"
	maxDepth = 4
)

// GoEnv holds the go command's view of the build environment.
type GoEnv struct {
	GOMOD, GOWORK, GOVERSION, GOROOT, GOOS, GOARCH, GOFLAGS,
	CGO_ENABLED, GOEXPERIMENT, GOAMD64, GOARM, GOARM64, GO386 string
}

var goEnvVars = []string{"GOMOD", "GOWORK", "GOVERSION", "GOROOT", "GOOS", "GOARCH", "GOFLAGS",
	"CGO_ENABLED", "GOEXPERIMENT", "GOAMD64", "GOARM", "GOARM64", "GO386"}

// ReadGoEnv asks goCmd, run in dir, for the build environment.
func ReadGoEnv(goCmd, dir string) (GoEnv, error) {
	var env GoEnv
	cmd := exec.Command(goCmd, append([]string{"env", "-json"}, goEnvVars...)...)
	cmd.Dir = dir
	out, err := output(cmd)
	if err != nil {
		return env, err
	}
	if err := json.Unmarshal(out, &env); err != nil {
		return env, fmt.Errorf("decoding go env: %w", err)
	}
	return env, nil
}

// Session is one build's view of the runtime resolution.
type Session struct {
	GoCmd    string        // the go command of the parent build's toolchain
	Dir      string        // the parent go command's working directory
	Env      GoEnv         // its environment
	Flags    goflags.Flags // its build flags
	SelfID   string        // ottoolexec's own identity
	Packages []string      // every runtime package the build may need (Versions resolves them all)
	CacheDir string        // ottoolexec's cache directory
	Environ  []string      // extra environment for nested go commands
	// OTLP says the build selected the OTLP exporter: its module
	// (OTLPModulePath) joins the temporary module files, and with it the
	// OpenTelemetry modules. Packages must then name OTLPPackage.
	OTLP bool
	// Context, if set, ends the nested go commands when it is done (the
	// background Warm's, once the build it serves has gone).
	Context context.Context
	// PGO, if set, is the -pgo value nested builds use instead of the
	// parent's: with -pgo=auto the parent compiles with the default.pgo
	// of its main package, which a nested build of non-main packages
	// would not find (see injector/pgo.go).
	PGO string

	key      string   // what the answers depend on
	dir      string   // CacheDir/resolve/key
	modfile  string   // temporary go.mod, "" when the runtime is in the main module
	workFile string   // temporary go.work, in workspace mode
	versions []Module // Versions' answer, once read
	modDir   string   // directory the nested command runs in
}

// Module is a module version the runtime is built with.
type Module struct {
	Path, Version string
	Sum           string  `json:",omitempty"` // go.sum hash of its content (h1:...), when known
	Replace       *Module `json:",omitempty"` // what the user's go.mod replaces it with
}

// Package is one compiled package of the runtime or its dependencies.
type Package struct {
	ImportPath string
	Name       string
	Export     string   // archive in the build cache
	Deps       []string `json:",omitempty"` // every dependency, implicit ones (runtime/cgo) included
	Standard   bool     `json:",omitempty"`
	Dir        string   // source directory
	GoFiles    []string `json:",omitempty"`
	Module     string   `json:",omitempty"` // path of the module that holds it; "" for the standard library
}

// Open prepares a session: it computes the key and writes the temporary
// module files if this key has not been seen before.
func (s *Session) Open() error {
	h := sha256.New()
	fmt.Fprintf(h, "self %s\ndir %s\nenv %+v\nflags %q %q %q\npackages %q\notlp %t\nosenv %q %q\n",
		s.SelfID, s.Dir, s.Env, s.Flags.Repeat, s.Flags.Mod, s.Flags.Modfile, s.Packages, s.OTLP,
		os.Getenv("GOPROXY"), os.Getenv("GONOSUMDB"))
	gomod := s.gomodPath()
	if gomod == "" {
		// Without a main module, `go install path@version` makes the
		// installed module the main one: its requirements shape the
		// resolution (see installedModules).
		fmt.Fprintf(h, "installing %q\n", s.Flags.Packages)
	}
	for _, f := range []string{gomod, sumPath(gomod), s.Env.GOWORK, s.Env.GOWORK + ".sum", vendorModules(gomod)} {
		if f == "" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("reading %s: %w", f, err)
		}
		fmt.Fprintf(h, "file %s %d\n", f, len(data))
		h.Write(data)
	}
	s.key = hex.EncodeToString(h.Sum(nil))[:32]
	s.dir = filepath.Join(s.CacheDir, "resolve", s.key)
	if _, err := os.Stat(s.dir); err == nil {
		touch(s.dir)
	} else {
		trim(filepath.Dir(s.dir))
	}
	return s.prepareModule(gomod)
}

// listArgs returns the arguments of a nested go list of pkgs.
func (s *Session) listArgs(pkgs []string, extra ...string) []string {
	args := []string{"list", "-deps", "-e"}
	args = append(args, extra...)
	if s.modfile != "" {
		args = append(args, "-modfile="+s.modfile)
	}
	args = append(args, s.Flags.Repeat...)
	if s.PGO != "" {
		args = append(args, "-pgo="+s.PGO) // the last -pgo wins
	}
	return append(args, pkgs...)
}

// listed is one package as go list -json prints it.
type listed struct {
	ImportPath string
	Name       string
	Export     string
	Standard   bool
	Deps       []string
	Dir        string
	GoFiles    []string
	ForTest    string
	Module     *struct {
		Path, Version, Sum string
		Replace            *struct{ Path, Version, Sum string }
	}
	Error      *struct{ Err string }
	DepsErrors []*struct{ Err string }
}

func (s *Session) list(env []string, args []string) ([]listed, error) {
	// A nested go command may compile a library that a rule splices, whose
	// runtime half it resolves with one more nested command, and so on:
	// that chain is short (the OTLP exporter's grpc is one step), and a
	// long one is a bug that would otherwise start go commands without end.
	depth, _ := strconv.Atoi(os.Getenv(depthEnv))
	if depth >= maxDepth {
		return nil, fmt.Errorf("resolving the ottoolexec runtime: nested go commands %d deep, giving up (a rule's runtime half needs a library that is itself spliced, again and again); please report this with the build command", depth)
	}
	ctx := s.Context
	if ctx == nil {
		ctx = context.Background()
	}
	cmd := exec.CommandContext(ctx, s.GoCmd, args...)
	cmd.Dir = s.modDir
	cmd.Env = append(append(os.Environ(), s.Environ...), env...)
	cmd.Env = append(cmd.Env, depthEnv+"="+strconv.Itoa(depth+1))
	if s.workFile != "" {
		cmd.Env = append(cmd.Env, "GOWORK="+s.workFile)
	}
	if os.Getenv("OTTOOLEXEC_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "ottoolexec: in %s: %s %s\n", cmd.Dir, strings.Join(cmd.Env[len(os.Environ()):], " "), strings.Join(cmd.Args, " "))
	}
	out, err := output(cmd)
	if err != nil {
		return nil, err
	}
	var pkgs []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decoding go list output: %w", err)
		}
		if p.Error != nil {
			msg := strings.TrimSpace(p.Error.Err)
			if strings.Contains(msg, "module lookup disabled") {
				// GOPROXY=off (or -mod=vendor's offline cousin): the
				// program's own packages are all in the module cache, but
				// a module version that only the runtime builds is not.
				msg += " (the runtime needs a module version that is not in the module cache: build once with the module proxy reachable, or record the runtime's requirements with `ottoolexec pin`)"
			}
			return nil, fmt.Errorf("resolving the ottoolexec runtime: package %s: %s", p.ImportPath, msg)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// Versions returns the module versions the runtime is built with, after
// checking that none of them is newer than a version the user's go.mod
// requires: ottoolexec never changes a user's versions behind their back.
func (s *Session) Versions() ([]Module, error) {
	if s.versions != nil {
		return s.versions, nil // identity and link ask more than once
	}
	memo := filepath.Join(s.dir, "versions.json")
	var mods []Module
	if readJSON(memo, &mods) == nil {
		s.versions = mods
		return mods, nil
	}
	unlock, err := lock(memo)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if readJSON(memo, &mods) == nil {
		s.versions = mods
		return mods, nil
	}
	// -mod=mod (last, so it wins over the parent's -mod): the temporary
	// go.mod is ours to update, and when the runtime raises one of the
	// user's versions, the update is how we learn which one, to say so.
	args := s.listArgs(nil, "-json=ImportPath,Module,Error")
	if s.ownsModFiles() {
		args = append(args, "-mod=mod")
	}
	pkgs, err := s.list([]string{NestedEnv + "=versions"}, append(args, s.Packages...))
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool)
	for _, p := range pkgs {
		if p.Module == nil || seen[p.Module.Path] || p.Module.Path == ModulePath || p.Module.Path == OTLPModulePath {
			continue
		}
		seen[p.Module.Path] = true
		m := Module{Path: p.Module.Path, Version: p.Module.Version, Sum: p.Module.Sum}
		if r := p.Module.Replace; r != nil {
			m.Replace = &Module{Path: r.Path, Version: r.Version, Sum: r.Sum}
		}
		mods = append(mods, m)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	if err := s.checkUserVersions(mods); err != nil {
		return nil, err
	}
	if err := writeJSON(memo, mods); err != nil {
		return nil, err
	}
	s.versions = mods
	return mods, nil
}

// checkUserVersions fails when resolving the runtime raised a module the
// user's go.mod requires.
func (s *Session) checkUserVersions(mods []Module) error {
	gomod := s.gomodPath()
	if gomod == "" || s.modfile == "" {
		return nil
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return fmt.Errorf("reading %s: %w", gomod, err)
	}
	f, err := modfile.Parse(gomod, data, nil)
	if err != nil {
		return fmt.Errorf("parsing %s: %w", gomod, err)
	}
	replaced := make(map[string]bool)
	for _, r := range f.Replace {
		replaced[r.Old.Path] = true
	}
	what, orPin, without := "the tracing runtime", " (or `ottoolexec pin`)", "build without ottoolexec"
	if s.OTLP {
		// pin records the runtime's own requirements, not the exporter's.
		what, orPin, without = "the tracing runtime with the OTLP exporter", "", "build without OTTOOLEXEC_EXPORTERS=otlp"
	}
	for _, r := range f.Require {
		for _, m := range mods {
			if m.Path == r.Mod.Path && m.Version != r.Mod.Version && !replaced[m.Path] {
				return fmt.Errorf("%s needs %s %s, but %s requires %s; ottoolexec does not change your versions: "+
					"accept the newer one with `go get %s@%s`%s, or %s",
					what, m.Path, m.Version, gomod, r.Mod.Version, m.Path, m.Version, orPin, without)
			}
		}
	}
	return nil
}

// output runs cmd and returns its standard output, or an error that
// carries what it printed on standard error.
func output(cmd *exec.Cmd) ([]byte, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("%s: %s", strings.Join(cmd.Args[:2], " "), msg)
	}
	return out, nil
}
