package injector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ottoolexec/ottoolexec/hooks/catalog"
	"github.com/ottoolexec/ottoolexec/injector/diff"
	"github.com/ottoolexec/ottoolexec/injector/resolve"
)

// Explain writes, for every package that a traced build of patterns (run
// in dir) would instrument, what the compiler receives instead of the
// original source: a unified diff per changed file, with the original
// line numbers, and each added file. It runs the very transformations the
// compile step runs, on the files the go command would compile (cgo
// output included), without building anything.
func Explain(w io.Writer, dir string, patterns []string) error {
	configDir = func() string { return dir }
	rules, err := enabledRules()
	if err != nil {
		return err
	}
	// The targets of standard library rules are compiled into every traced
	// build (the runtime imports them), so they are listed too.
	args := []string{"list", "-deps", "-compiled", "-e", "-json=ImportPath,Name,Dir,GoFiles,CompiledGoFiles,Standard,Error"}
	args = append(args, patterns...)
	for _, r := range rules {
		if r.Std {
			args = append(args, r.Package)
		}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go list: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	type listed struct {
		ImportPath, Name, Dir    string
		GoFiles, CompiledGoFiles []string
		Standard                 bool
		Error                    *struct{ Err string }
	}
	var pkgs []listed
	byPath := make(map[string]resolve.Package)
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			return fmt.Errorf("decoding go list output: %w", err)
		}
		if p.Error != nil {
			return fmt.Errorf("%s: %s", p.ImportPath, strings.TrimSpace(p.Error.Err))
		}
		pkgs = append(pkgs, p)
		byPath[p.ImportPath] = resolve.Package{ImportPath: p.ImportPath, Name: p.Name, Dir: p.Dir, GoFiles: p.GoFiles, Standard: p.Standard}
	}
	exporters, err := selectedExporters()
	if err != nil {
		return err
	}
	imports, err := mainImports(rules, exporters, byPath)
	if err != nil {
		return err
	}

	shown := 0
	for _, p := range pkgs {
		var paths []string
		files := p.CompiledGoFiles
		if len(files) == 0 {
			files = p.GoFiles
		}
		for _, f := range files {
			if !filepath.IsAbs(f) {
				f = filepath.Join(p.Dir, f)
			}
			paths = append(paths, f)
		}
		pkgPath := p.ImportPath
		if p.Name == "main" {
			pkgPath = "main" // as the go command names it to the compiler
		}
		u, err := newUnit(pkgPath, paths)
		if err != nil {
			return err
		}
		for _, r := range rules {
			if r.Package == p.ImportPath {
				if err := u.applyRule(r); err != nil {
					return err
				}
			}
		}
		if !p.Standard {
			if err := u.applyDirectives(); err != nil {
				return err
			}
		}
		if p.Name == "main" {
			if err := u.applyMain(imports); err != nil {
				return err
			}
		}
		if !writeUnit(w, dir, p.ImportPath, u) {
			continue
		}
		shown++
	}
	if shown == 0 {
		fmt.Fprintln(w, "ottoolexec: nothing in these packages is instrumented")
	}
	return nil
}

// writeUnit prints what instrumenting u changed, if anything.
func writeUnit(w io.Writer, dir, importPath string, u *unit) bool {
	changed := len(u.added) > 0 || len(u.notes) > 0
	for _, e := range u.edited {
		changed = changed || e
	}
	if !changed {
		return false
	}
	fmt.Fprintf(w, "# %s\n", importPath)
	for _, note := range u.notes {
		fmt.Fprintf(w, "# note: %s\n", note)
	}
	for i, src := range u.srcs {
		if !u.edited[i] {
			continue
		}
		old, err := os.ReadFile(src.Path)
		if err != nil {
			fmt.Fprintf(w, "# cannot read %s: %v\n", src.Path, err)
			continue
		}
		name := displayPath(dir, src.Path)
		w.Write(diff.Unified(name, name+" (as compiled)", old, src.Data, 3))
	}
	for _, f := range u.added {
		w.Write(diff.Unified("/dev/null", f.Name+" (added)", nil, []byte(f.Content), 3))
	}
	fmt.Fprintln(w)
	return true
}

// displayPath shortens path for the reader: relative to dir when inside
// it, $GOROOT/... for the standard library.
func displayPath(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	if root := goroot(); root != "" {
		if rel, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.Join("$GOROOT", rel)
		}
	}
	return path
}

var goroot = sync.OnceValue(func() string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
})

// RuleStatus is one integration as `ottoolexec list` shows it.
type RuleStatus struct {
	Name, Package, Doc string
	Tested             []string
	Core, Enabled      bool
	// Fits says whether the rule applies to the toolchain's standard
	// library source ("yes", "no"), or "-" for other targets, which are
	// checked when built.
	Fits string
}

// Catalog describes every integration for the build that would run in dir.
func Catalog(dir string) ([]RuleStatus, error) {
	configDir = func() string { return dir }
	enabled, err := enabledRules()
	if err != nil {
		return nil, err
	}
	on := make(map[string]bool)
	for _, r := range enabled {
		on[r.Name] = true
	}
	args := []string{"list", "-e", "-json=ImportPath,Dir,GoFiles,Standard"}
	for _, r := range catalog.Rules {
		if r.Std {
			args = append(args, r.Package)
		}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	pkgs := make(map[string]resolve.Package)
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p resolve.Package
		if err := dec.Decode(&p); err != nil {
			return nil, err
		}
		pkgs[p.ImportPath] = p
	}
	var list []RuleStatus
	for _, r := range catalog.Rules {
		st := RuleStatus{Name: r.Name, Package: r.Package, Doc: r.Doc, Tested: r.Tested, Core: r.Core, Enabled: on[r.Name], Fits: "-"}
		if r.Std {
			ok, err := fits(r, pkgs)
			if err != nil {
				return nil, err
			}
			st.Fits = map[bool]string{true: "yes", false: "no"}[ok]
		}
		list = append(list, st)
	}
	return list, nil
}
