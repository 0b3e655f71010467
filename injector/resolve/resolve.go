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
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

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

	key      string // what the answers depend on
	dir      string // CacheDir/resolve/key
	modfile  string // temporary go.mod, "" when the runtime is in the main module
	workFile string // temporary go.work, in workspace mode
	modDir   string // directory the nested command runs in
}

// Module is a module version the runtime is built with.
type Module struct {
	Path, Version string
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

func (s *Session) gomodPath() string {
	if s.Flags.Modfile != "" {
		if filepath.IsAbs(s.Flags.Modfile) {
			return s.Flags.Modfile
		}
		return filepath.Join(s.Dir, s.Flags.Modfile)
	}
	if s.Env.GOMOD == os.DevNull || len(installedPackages(s.Flags)) > 0 {
		// go install path@version (and go run) ignores the module of the
		// directory it runs in: the build's main module is the installed
		// one, found in the module cache (installedModules).
		return ""
	}
	return s.Env.GOMOD
}

func sumPath(gomod string) string {
	if gomod == "" {
		return ""
	}
	return strings.TrimSuffix(gomod, ".mod") + ".sum"
}

func vendorModules(gomod string) string {
	if gomod == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(gomod), "vendor", "modules.txt")
}

// installedPackages returns the path@version arguments of a go install
// or go run, which build a module of their own whatever the directory.
func installedPackages(f goflags.Flags) []string {
	if f.Subcommand != "install" && f.Subcommand != "run" {
		return nil
	}
	var pkgs []string
	for _, arg := range f.Packages {
		if _, version, ok := strings.Cut(arg, "@"); ok && version != "" {
			pkgs = append(pkgs, arg)
		}
	}
	return pkgs
}

// installedModules returns the modules that `go install path@version`
// arguments name, found by the longest prefix of each path whose go.mod at
// that version the go command has downloaded into the module cache (it has
// by the time it runs a tool).
func installedModules(f goflags.Flags, modcache string) []module.Version {
	if modcache == "" {
		return nil
	}
	var mods []module.Version
	seen := make(map[module.Version]bool)
	for _, arg := range installedPackages(f) {
		path, version, _ := strings.Cut(arg, "@")
		path = strings.TrimSuffix(path, "/...")
		for p := path; p != "." && p != "/" && p != ""; p = filepath.ToSlash(filepath.Dir(p)) {
			ep, err1 := module.EscapePath(p)
			ev, err2 := module.EscapeVersion(version)
			if err1 != nil || err2 != nil {
				break
			}
			if _, err := os.Stat(filepath.Join(modcache, "cache", "download", ep, "@v", ev+".mod")); err == nil {
				if m := (module.Version{Path: p, Version: version}); !seen[m] {
					seen[m] = true
					mods = append(mods, m)
				}
				break
			}
		}
	}
	return mods
}

// gomodcache returns the module cache directory of the parent build.
func (s *Session) gomodcache() string {
	if dir := os.Getenv("GOMODCACHE"); dir != "" {
		return dir
	}
	out, err := exec.Command(s.GoCmd, "env", "GOMODCACHE").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// prepareModule writes the temporary go.mod and go.sum the nested command
// resolves with: the user's own, plus a requirement on the runtime module
// replaced by the runtime source.
func (s *Session) prepareModule(gomod string) error {
	if s.Env.GOWORK != "" && s.Env.GOWORK != "off" && len(installedPackages(s.Flags)) == 0 {
		return s.prepareWorkspace()
	}
	if s.Flags.Mod == "vendor" || s.Flags.Mod == "" && hasVendor(gomod) && !strings.Contains(s.Env.GOFLAGS, "-mod=") {
		if err := checkVendor(vendorModules(gomod), s.OTLP); err != nil {
			return err
		}
	}
	src, err := WriteSource(s.CacheDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o777); err != nil {
		return fmt.Errorf("creating %s: %w", s.dir, err)
	}
	_, runtimeSum, err := s.runtimeSums()
	if err != nil {
		return err
	}

	var userMod, userSum []byte
	if gomod != "" {
		if userMod, err = os.ReadFile(gomod); err != nil {
			return fmt.Errorf("reading the main module's go.mod: %w", err)
		}
		userSum, _ = os.ReadFile(sumPath(gomod)) // a module without dependencies has none
		f, err := modfile.Parse(gomod, userMod, nil)
		if err != nil {
			return fmt.Errorf("parsing %s: %w", gomod, err)
		}
		if f.Module != nil && f.Module.Mod.Path == ModulePath {
			// Building ottoolexec's own module: the runtime is right here.
			s.modDir = s.Dir
			return nil
		}
		required := false
		for _, r := range f.Require {
			required = required || r.Mod.Path == ModulePath
		}
		if required {
			// The program imports ottoolexec's API (runtime/ottrace), so
			// its build has the runtime packages already, in the version
			// it requires: the nested build must use that copy, or the
			// binary would hold two. That is only right when it is the
			// runtime this ottoolexec splices hooks for.
			if err := s.checkUserRuntime(gomod, f); err != nil {
				return err
			}
		} else {
			if err := f.AddRequire(ModulePath, zeroVersion); err != nil {
				return fmt.Errorf("adding the runtime to the temporary go.mod: %w", err)
			}
			if err := f.AddReplace(ModulePath, "", src, ""); err != nil {
				return fmt.Errorf("adding the runtime to the temporary go.mod: %w", err)
			}
		}
		if s.OTLP {
			if err := f.AddRequire(OTLPModulePath, zeroVersion); err != nil {
				return fmt.Errorf("adding the OTLP exporter to the temporary go.mod: %w", err)
			}
			if err := f.AddReplace(OTLPModulePath, "", filepath.Join(src, filepath.FromSlash(otlpOut)), ""); err != nil {
				return fmt.Errorf("adding the OTLP exporter to the temporary go.mod: %w", err)
			}
		}
		if !required || s.OTLP {
			f.Cleanup()
			if userMod, err = f.Format(); err != nil {
				return fmt.Errorf("writing the temporary go.mod: %w", err)
			}
		}
		s.modfile = filepath.Join(s.dir, "go.mod")
		s.modDir = s.Dir
	} else {
		// No main module (GOPATH mode, or building the standard library
		// itself): resolve in a module of our own.
		userMod = fmt.Appendf(nil, "module ottoolexec.invalid/nested\n\ngo %s\n\nrequire %s %s\n\nreplace %s => %s\n",
			runtimeGoVersion, ModulePath, zeroVersion, ModulePath, src)
		if s.OTLP {
			userMod = fmt.Appendf(userMod, "\nrequire %s %s\n\nreplace %s => %s\n",
				OTLPModulePath, zeroVersion, OTLPModulePath, filepath.Join(src, filepath.FromSlash(otlpOut)))
		}
		// go install module/cmd@version: that module is the build's main
		// module, and its requirements can raise versions the runtime
		// shares with it (go.uber.org/atomic). Requiring it here lets the
		// nested resolution select the same versions as the program.
		for _, m := range installedModules(s.Flags, s.gomodcache()) {
			userMod = fmt.Appendf(userMod, "\nrequire %s %s\n", m.Path, m.Version)
		}
		s.modDir = s.dir
	}
	if err := writeIfChanged(filepath.Join(s.dir, "go.mod"), userMod); err != nil {
		return err
	}
	return writeIfChanged(filepath.Join(s.dir, "go.sum"), MergeSums(userSum, runtimeSum))
}

// zeroVersion is the version the temporary module files require the
// runtime modules at; a replace gives them their source.
const zeroVersion = "v0.0.0-00010101000000-000000000000"

// runtimeSums returns the runtime module's go.mod and the go.sum lines the
// nested resolution needs: the runtime's, and the OTLP exporter's when the
// build selected it.
func (s *Session) runtimeSums() (gomod, gosum []byte, err error) {
	gomod, gosum, err = RuntimeGoMod()
	if err != nil || !s.OTLP {
		return gomod, gosum, err
	}
	otlpSum, err := OTLPGoSum()
	if err != nil {
		return nil, nil, fmt.Errorf("reading the OTLP exporter's go.sum: %w", err)
	}
	return gomod, MergeSums(gosum, otlpSum), nil
}

// checkUserRuntime makes sure that the version of ottoolexec's module the
// user's go.mod requires carries the same runtime as this ottoolexec.
func (s *Session) checkUserRuntime(gomod string, f *modfile.File) error {
	var memo struct{ Version, Dir, Hash string }
	// A replace by a directory (a checkout of ottoolexec next to the
	// program): go mod download has nothing to say about it, and the
	// directory's content can change between builds, so it is read every
	// time rather than memoised.
	if dir := localReplace(f, gomod); dir != "" {
		if inside(dir, s.CacheDir) {
			// The temporary go.mod of a nested resolution, whose
			// replace names the runtime source ottoolexec wrote itself.
			return nil
		}
		hash, err := runtimeTreeHash(os.DirFS(dir))
		if err != nil {
			return fmt.Errorf("%s replaces %s by %s: reading it: %w", gomod, ModulePath, dir, err)
		}
		return s.compareUserRuntime(gomod, "(replaced by "+dir+")", hash)
	}
	err := s.Memo("user-runtime", &memo, func() error {
		args := []string{"mod", "download", "-json"}
		if s.Flags.Modfile != "" {
			args = append(args, "-modfile="+s.Flags.Modfile)
		}
		cmd := exec.Command(s.GoCmd, append(args, ModulePath)...)
		cmd.Dir = s.Dir
		out, err := output(cmd)
		if err != nil {
			return err
		}
		var m struct{ Version, Dir, Error string }
		if err := json.Unmarshal(out, &m); err != nil {
			return fmt.Errorf("decoding the output of go mod download -json %s (%q): %w", ModulePath, out, err)
		}
		if m.Error != "" {
			return fmt.Errorf("%s: %s", ModulePath, m.Error)
		}
		hash, err := runtimeTreeHash(os.DirFS(m.Dir))
		if err != nil {
			return fmt.Errorf("reading %s: %w", m.Dir, err)
		}
		memo.Version, memo.Dir, memo.Hash = m.Version, m.Dir, hash
		return nil
	})
	if err != nil {
		return err
	}
	return s.compareUserRuntime(gomod, memo.Version, memo.Hash)
}

// compareUserRuntime fails unless hash, the runtime tree of the version
// of ottoolexec's module that gomod requires, is the one this ottoolexec
// carries.
func (s *Session) compareUserRuntime(gomod, version, hash string) error {
	ours, err := embeddedRuntimeHash()
	if err != nil {
		return err
	}
	if hash != ours {
		return fmt.Errorf("%s requires %s %s, whose runtime is not the one this ottoolexec links (it was built from another version): "+
			"build with the matching ottoolexec (after `ottoolexec pin`: go tool ottoolexec go build ./...), or require the version this ottoolexec comes from",
			gomod, ModulePath, version)
	}
	return nil
}

// inside reports whether path is dir or below it.
func inside(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// localReplace returns the directory that f (the go.mod at gomod)
// replaces ottoolexec's module by, or "" when it has no such replace.
func localReplace(f *modfile.File, gomod string) string {
	for _, r := range f.Replace {
		if r.Old.Path != ModulePath || r.New.Version != "" {
			continue
		}
		if filepath.IsAbs(r.New.Path) {
			return r.New.Path
		}
		return filepath.Join(filepath.Dir(gomod), r.New.Path)
	}
	return ""
}

// prepareWorkspace writes the temporary go.work the nested command
// resolves with in a workspace build: the user's, with every path made
// absolute, plus the runtime source as one more workspace module. (The
// go command takes no -modfile in workspace mode.)
func (s *Session) prepareWorkspace() error {
	data, err := os.ReadFile(s.Env.GOWORK)
	if err != nil {
		return fmt.Errorf("reading %s: %w", s.Env.GOWORK, err)
	}
	wf, err := modfile.ParseWork(s.Env.GOWORK, data, nil)
	if err != nil {
		return fmt.Errorf("parsing %s: %w", s.Env.GOWORK, err)
	}
	base := filepath.Dir(s.Env.GOWORK)
	abs := func(p string) string {
		if filepath.IsAbs(p) || !strings.HasPrefix(p, ".") {
			return p
		}
		return filepath.Join(base, p)
	}
	var uses []string
	for _, u := range wf.Use {
		uses = append(uses, u.Path)
	}
	for _, u := range uses {
		dir := abs(u)
		gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil {
			return fmt.Errorf("reading the go.mod of workspace module %s: %w", u, err)
		}
		f, err := modfile.ParseLax(filepath.Join(dir, "go.mod"), gomod, nil)
		if err != nil {
			return err
		}
		for _, r := range f.Require {
			if r.Mod.Path == ModulePath {
				return fmt.Errorf("workspace module %s requires %s: a workspace importing ottoolexec's API is not supported yet; build with GOWORK=off", u, ModulePath)
			}
		}
		if err := wf.DropUse(u); err != nil {
			return err
		}
		if err := wf.AddUse(dir, ""); err != nil {
			return err
		}
	}
	for _, r := range wf.Replace {
		if r.New.Version == "" && strings.HasPrefix(r.New.Path, ".") {
			if err := wf.AddReplace(r.Old.Path, r.Old.Version, abs(r.New.Path), ""); err != nil {
				return err
			}
		}
	}
	src, err := WriteSource(s.CacheDir)
	if err != nil {
		return err
	}
	if err := wf.AddUse(src, ModulePath); err != nil {
		return err
	}
	if s.OTLP {
		if err := wf.AddUse(filepath.Join(src, filepath.FromSlash(otlpOut)), OTLPModulePath); err != nil {
			return err
		}
	}
	// The runtime module's go line must not be newer than the workspace's.
	if wf.Go == nil || semver.Compare("v"+wf.Go.Version, "v"+runtimeGoVersion) < 0 {
		if err := wf.AddGoStmt(runtimeGoVersion); err != nil {
			return err
		}
	}
	wf.Cleanup()
	if err := os.MkdirAll(s.dir, 0o777); err != nil {
		return fmt.Errorf("creating %s: %w", s.dir, err)
	}
	s.workFile = filepath.Join(s.dir, "go.work")
	s.modDir = s.Dir
	if err := writeIfChanged(s.workFile, modfile.Format(wf.Syntax)); err != nil {
		return err
	}
	_, runtimeSum, err := s.runtimeSums()
	if err != nil {
		return err
	}
	userSum, _ := os.ReadFile(s.Env.GOWORK + ".sum")
	return writeIfChanged(s.workFile+".sum", MergeSums(userSum, runtimeSum))
}

// checkVendor allows a -mod=vendor build when none of the runtime's
// modules (and, with otlp, none of the OTLP exporter's) is vendored. The
// runtime is then resolved from the module cache (the nested command runs
// with -mod=mod on its temporary go.mod) and shares only the standard
// library with the build, which vendoring does not touch. A module both
// vendored and used by the runtime would be compiled twice, from two
// directories, and the link would fail with a fingerprint mismatch, so
// that case is refused with its name.
func checkVendor(modulesTxt string, otlp bool) error {
	data, err := os.ReadFile(modulesTxt)
	if err != nil {
		return fmt.Errorf("reading %s: %w", modulesTxt, err)
	}
	users := make(map[string]string) // module -> what needs it
	for _, m := range RuntimeModules {
		users[m] = "the tracing runtime"
	}
	if otlp {
		mods, err := otlpModules()
		if err != nil {
			return err
		}
		for _, m := range mods {
			if users[m] == "" {
				users[m] = "the OTLP exporter (OTTOOLEXEC_EXPORTERS=otlp)"
			}
		}
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "#" && users[fields[1]] != "" {
			return fmt.Errorf("%s vendors %s, which %s also uses; ottoolexec cannot share a vendored copy with the runtime yet: build with -mod=mod, or without ottoolexec", modulesTxt, fields[1], users[fields[1]])
		}
	}
	return nil
}

func hasVendor(gomod string) bool {
	if gomod == "" {
		return false
	}
	_, err := os.Stat(vendorModules(gomod))
	return err == nil
}

// MergeSums merges two go.sum texts, without duplicate lines.
func MergeSums(a, b []byte) []byte {
	seen := make(map[string]bool)
	var lines []string
	for _, line := range strings.Split(string(a)+"\n"+string(b), "\n") {
		if line != "" && !seen[line] {
			seen[line] = true
			lines = append(lines, line)
		}
	}
	sort.Strings(lines)
	return []byte(strings.Join(lines, "\n") + "\n")
}

// writeIfChanged replaces path with data through a rename, unless it holds
// data already. Concurrent toolexec processes of one build call it for the
// same files, so each writes its own temporary file.
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// ownsModFiles reports whether the nested go command works on module files
// of ours (a temporary -modfile, or our own module for builds outside any
// module), which it may then update. Building ottoolexec's own module, it
// works on the real go.mod, which must not change.
func (s *Session) ownsModFiles() bool {
	return s.modfile != "" || s.modDir == s.dir
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
		Path, Version string
		Replace       *struct{ Path, Version string }
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
	memo := filepath.Join(s.dir, "versions.json")
	var mods []Module
	if readJSON(memo, &mods) == nil {
		return mods, nil
	}
	unlock, err := lock(memo)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if readJSON(memo, &mods) == nil {
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
		version := p.Module.Version
		if p.Module.Replace != nil {
			version = p.Module.Replace.Path + "@" + p.Module.Replace.Version
		}
		mods = append(mods, Module{p.Module.Path, version})
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	if err := s.checkUserVersions(mods); err != nil {
		return nil, err
	}
	return mods, writeJSON(memo, mods)
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

// Archives compiles pkgs, runtime packages, and their dependencies with
// the parent build's flags and toolexec (self, in nested mode under
// identity) and returns every package of the result by import path.
//
// Each caller asks for what it needs, not for the whole runtime: a main
// package for the packages main imports, a library spliced by a rule for
// that rule's runtime half, a link for the union of those in its program.
// So a program that uses no go-redis never compiles go-redis's half, and a
// compile inside the nested resolution (where the runtime itself depends
// on a traced library, the OTLP exporter on grpc) never starts the same
// nested build again. The memo is keyed by the set, in any order; two
// resolutions share every package they have in common, compiled once,
// through the build cache.
func (s *Session) Archives(self, identity string, pkgs []string) (map[string]Package, error) {
	return s.archives(s.archivesMemo(identity, pkgs), self, identity, sortedSet(pkgs), nil)
}

// archivesMemo is where Archives keeps its answer for pkgs.
func (s *Session) archivesMemo(identity string, pkgs []string) string {
	return filepath.Join(s.dir, "archives-"+ShortHash(identity+"\n"+strings.Join(sortedSet(pkgs), "\n")+s.pgoKey())+".json")
}

// Warm compiles, into the build cache, the packages of the closure of pkgs
// that neither are after nor depend on it, the way Archives would compile
// them (see injector/warm.go for when and why). It does nothing when the
// answer of Archives for pkgs is memoised already, or while another Warm of
// this session runs. Archives waits for it, outside nested builds.
func (s *Session) Warm(self, identity string, pkgs []string, after string) error {
	if !canLock {
		return nil
	}
	if _, ok := readArchives(s.archivesMemo(identity, pkgs)); ok {
		return nil
	}
	unlock, ok, err := tryLock(filepath.Join(s.dir, "warm"))
	if err != nil || !ok {
		return err
	}
	defer unlock()
	args := s.listArgs(nil, "-json=ImportPath,Deps")
	if s.ownsModFiles() {
		args = append(args, "-mod=mod")
	}
	listed, err := s.list([]string{NestedEnv + "=versions"}, append(args, pkgs...))
	if err != nil {
		return err
	}
	warm := warmSet(listed, after)
	if len(warm) == 0 {
		return nil
	}
	args = s.listArgs(nil, "-export", "-toolexec="+self, "-json=ImportPath,Error")
	if s.ownsModFiles() {
		args = append(args, "-mod=mod")
	}
	_, err = s.list([]string{NestedEnv + "=" + identity}, append(args, warm...))
	return err
}

// warmSet returns the packages of listed (a go list -deps) that Warm
// compiles: neither after nor its dependencies (the build has compiled
// those by the time it compiles after), nor anything that needs after.
// Without after in listed, what the build has compiled is unknown: none.
func warmSet(listed []listed, after string) []string {
	done := map[string]bool{after: true}
	found := false
	for _, p := range listed {
		if p.ImportPath == after {
			found = true
			for _, dep := range p.Deps {
				done[dep] = true
			}
		}
	}
	if !found {
		return nil
	}
	var warm []string
	for _, p := range listed {
		if !done[p.ImportPath] && !slices.Contains(p.Deps, after) {
			warm = append(warm, p.ImportPath)
		}
	}
	return warm
}

// waitWarm waits until no Warm of this session runs.
// It waits at most warmWait: a Warm that hangs (on the network, say)
// must not stall the build, which then compiles what it needs itself.
func (s *Session) waitWarm() {
	if !canLock {
		return
	}
	deadline := time.Now().Add(warmWait)
	for {
		unlock, ok, err := tryLock(filepath.Join(s.dir, "warm"))
		if ok {
			unlock()
		}
		if ok || err != nil || time.Now().After(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// warmWait bounds how long a resolution waits for a Warm.
const warmWait = 2 * time.Minute

// sortedSet returns pkgs sorted, without duplicates.
func sortedSet(pkgs []string) []string {
	set := append([]string(nil), pkgs...)
	sort.Strings(set)
	out := set[:0]
	for i, p := range set {
		if i == 0 || p != set[i-1] {
			out = append(out, p)
		}
	}
	return out
}

// Memo returns the value memoised under name in this session, computing
// it with compute (and saving it) the first time. v must be a pointer.
func (s *Session) Memo(name string, v any, compute func() error) error {
	path := filepath.Join(s.dir, name+".json")
	if readJSON(path, v) == nil {
		return nil
	}
	if err := compute(); err != nil {
		return err
	}
	return writeJSON(path, v)
}

// WriteNote records a small value under name in this session, for later
// tool invocations of the same build (or of a rebuild with the same
// inputs) to read.
func (s *Session) WriteNote(name, value string) error {
	return writeIfChanged(filepath.Join(s.dir, name+".note"), []byte(value))
}

// ReadNote returns the value WriteNote recorded under name.
func (s *Session) ReadNote(name string) (string, bool) {
	data, err := os.ReadFile(filepath.Join(s.dir, name+".note"))
	return string(data), err == nil
}

// pgoKey tells apart the memos of builds with different PGO profiles,
// by path and content.
func (s *Session) pgoKey() string {
	if s.PGO == "" || s.PGO == "off" {
		return ""
	}
	data, _ := os.ReadFile(s.PGO)
	sum := sha256.Sum256(data)
	return "\npgo " + s.PGO + " " + hex.EncodeToString(sum[:])
}

// TestArchives is Archives of roots for the test binary of pkg, a package
// the runtime itself depends on (go test net/http). That binary links test
// variants of pkg and of every package that imports it, so the runtime's
// packages must be compiled as such variants too, or the linker finds two
// different net/http. The go command builds them when the test imports
// the runtime, so a nested go list -test sees the test with one more
// external test file, added through -overlay, that imports the runtime.
func (s *Session) TestArchives(pkg Package, self, identity string, roots []string) (map[string]Package, error) {
	roots = sortedSet(roots)
	memo := filepath.Join(s.dir, "archives-test-"+ShortHash(identity+"\n"+pkg.ImportPath+"\n"+strings.Join(roots, "\n")+s.pgoKey())+".json")
	dir := filepath.Join(s.dir, "xtest", ShortHash(pkg.ImportPath))
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	var src strings.Builder
	fmt.Fprintf(&src, "package %s_test\n\nimport (\n", pkg.Name)
	for _, p := range roots {
		fmt.Fprintf(&src, "\t_ %q\n", p)
	}
	src.WriteString(")\n")
	file := filepath.Join(dir, "ottoolexec_x_test.go")
	if err := writeIfChanged(file, []byte(src.String())); err != nil {
		return nil, err
	}
	overlay := filepath.Join(dir, "overlay.json")
	data, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(pkg.Dir, "zz_ottoolexec_x_test.go"): file},
	})
	if err != nil {
		return nil, err
	}
	if err := writeIfChanged(overlay, data); err != nil {
		return nil, err
	}
	return s.archives(memo, self, identity, []string{pkg.ImportPath}, []string{"-test", "-overlay=" + overlay})
}

func (s *Session) archives(memo, self, identity string, roots, extra []string) (map[string]Package, error) {
	if pkgs, ok := readArchives(memo); ok {
		return pkgs, nil
	}
	if os.Getenv(NestedEnv) == "" {
		// Before the memo's lock, so that no lock is held while waiting.
		// A nested build's compile must not wait: the Warm it may be part
		// of holds the lock.
		s.waitWarm()
	}
	unlock, err := lock(memo)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if pkgs, ok := readArchives(memo); ok {
		return pkgs, nil
	}
	if err := RepairSource(s.CacheDir); err != nil {
		return nil, err
	}
	// -mod=mod, after the parent's flags so it wins: the module files are
	// our temporary copies, and the runtime may need go.sum lines the
	// user's go.sum has no reason to hold (a newer pkg/errors that the
	// user's graph selects but never builds).
	extra = append(extra, "-export", "-toolexec="+self, "-json=ImportPath,Name,Export,Standard,Deps,Dir,GoFiles,ForTest,Error")
	args := s.listArgs(nil, extra...)
	if s.ownsModFiles() {
		args = append(args, "-mod=mod")
	}
	out, err := s.list([]string{NestedEnv + "=" + identity}, append(args, roots...))
	if err != nil {
		return nil, err
	}
	pkgs := make(map[string]Package, len(out))
	for _, p := range out {
		if p.ImportPath == "unsafe" || p.ImportPath == "C" || strings.HasSuffix(p.ImportPath, ".test") || strings.HasSuffix(p.Name, "_test") {
			continue // no archive (built into the compiler), or the test's own main and external test package
		}
		if p.Export == "" {
			return nil, fmt.Errorf("resolving the ottoolexec runtime: go list -export gave no archive for %s", p.ImportPath)
		}
		path := plainPath(p.ImportPath)
		if _, seen := pkgs[path]; seen && p.ForTest == "" {
			continue // the test variant wins over the plain package
		}
		deps := make([]string, len(p.Deps))
		for i, dep := range p.Deps {
			deps[i] = plainPath(dep)
		}
		pkgs[path] = Package{path, p.Name, p.Export, deps, p.Standard, p.Dir, p.GoFiles}
	}
	return pkgs, writeJSON(memo, pkgs)
}

// plainPath strips the test variant suffix: "net/http [net/http.test]"
// is linked as net/http.
func plainPath(path string) string {
	if i := strings.Index(path, " ["); i >= 0 {
		return path[:i]
	}
	return path
}

// readArchives reads a memo of Archives, which is only good while every
// archive it names is still in the build cache.
func readArchives(memo string) (map[string]Package, bool) {
	var pkgs map[string]Package
	if readJSON(memo, &pkgs) != nil {
		return nil, false
	}
	for _, p := range pkgs {
		if _, err := os.Stat(p.Export); err != nil {
			return nil, false // trimmed from the build cache, or go clean -cache
		}
	}
	return pkgs, true
}

// ShortHash is a short hex digest of s, for file names.
func ShortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:16]
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		return err
	}
	return writeIfChanged(path, data)
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
