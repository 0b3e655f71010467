package resolve

// The module files of a resolution: the temporary go.mod, go.sum and
// go.work the nested go command runs on, the checks that the runtime's
// requirements fit the user's (vendor/, versions, a required ottoolexec),
// and the sums it may add.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/ottoolexec/ottoolexec/injector/goflags"
)

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
