package resolve

// Compiling runtime packages with go list -export (Archives, TestArchives,
// Warm) and the memos that keep the answers for the rest of a build and
// for rebuilds.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

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
	extra = append(extra, "-export", "-toolexec="+self, "-json=ImportPath,Name,Export,Standard,Deps,Dir,GoFiles,ForTest,Module,Error")
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
		mod := ""
		if p.Module != nil {
			mod = p.Module.Path
		}
		pkgs[path] = Package{path, p.Name, p.Export, deps, p.Standard, p.Dir, p.GoFiles, mod}
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
