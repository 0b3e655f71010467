package injector

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/ottoolexec/ottoolexec/hooks"
	"github.com/ottoolexec/ottoolexec/injector/directive"
	"github.com/ottoolexec/ottoolexec/injector/resolve"
	"github.com/ottoolexec/ottoolexec/injector/splice"
)

// unit is one package's source being instrumented, in memory: what the
// compile step hands the compiler, and what `ottoolexec explain` shows.
type unit struct {
	pkgPath string
	srcs    []splice.Source // Path is the original file, Data its current text
	edited  []bool          // which srcs changed
	added   []hooks.File    // new files, with their final names
	imports []string        // runtime packages the new code imports
	notes   []string        // what the user should hear (rules that did not fit)
}

// newUnit reads the package's files.
func newUnit(pkgPath string, paths []string) (*unit, error) {
	u := &unit{pkgPath: pkgPath, edited: make([]bool, len(paths))}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		u.srcs = append(u.srcs, splice.Source{Path: path, Data: data})
	}
	return u, nil
}

// update takes in the files a splice changed.
func (u *unit) update(changed map[string][]byte) {
	for i := range u.srcs {
		if data, ok := changed[u.srcs[i].Path]; ok {
			u.srcs[i].Data = data
			u.edited[i] = true
		}
	}
}

// applyRule splices r into the package and adds r's files. A target that
// does not fit r is left alone, with a note.
func (u *unit) applyRule(r *hooks.Rule) error {
	if note := untestedToolchain(r, u.srcs); note != "" {
		u.notes = append(u.notes, fmt.Sprintf("%s: %s; building it without the %s integration", u.pkgPath, note, r.Name))
		return nil
	}
	changed, err := splice.Apply(u.srcs, r.Funcs, r.Fields...)
	var misfit *splice.MisfitError
	if errors.As(err, &misfit) {
		u.notes = append(u.notes, fmt.Sprintf("%s%s: %v; building it without the %s integration", u.pkgPath, u.moduleVersion(), err, r.Name))
		return nil
	}
	if err != nil {
		return err
	}
	if len(r.Imports) > 0 {
		if changed, err = splice.AddImports(u.srcs, changed, r.Imports); err != nil {
			return err
		}
		for _, path := range r.Imports {
			u.imports = append(u.imports, path)
		}
	}
	u.update(changed)
	for _, f := range r.Files {
		u.added = append(u.added, hooks.File{Name: "ottoolexec_" + r.Name + "_" + f.Name, Content: f.Content})
	}
	return nil
}

// applyDirectives wraps the functions marked //ottrace:span.
func (u *unit) applyDirectives() error {
	changed, err := directive.Apply(u.srcs)
	if err != nil || len(changed) == 0 {
		return err
	}
	u.update(changed)
	u.imports = append(u.imports, directive.RuntimePackage)
	return nil
}

// applyMain makes a main package start the runtime: a file importing
// imports (boot first) and a deferred flush in main.main.
func (u *unit) applyMain(imports []string) error {
	changed, err := splice.Apply(u.srcs, []hooks.Func{mainFunc})
	var misfit *splice.MisfitError
	if errors.As(err, &misfit) {
		// No main function here (a test's package main): the runtime still
		// starts through the import; exits flush through os.Exit.
		changed, err = nil, nil
	}
	if err != nil {
		return err
	}
	u.update(changed)
	u.imports = append(u.imports, imports...)
	u.added = append(u.added, hooks.File{Name: "ottoolexec_main.go", Content: mainFile(imports)})
	return nil
}

// mainFunc defers the flush of finished spans on return from main.main.
var mainFunc = hooks.Func{
	Name:      "main",
	Signature: "()",
	Prologue:  "defer __ottoolexec_mainReturned();",
}

func mainFile(imports []string) string {
	var b strings.Builder
	b.WriteString("package main\n\nimport (\n")
	fmt.Fprintf(&b, "\t__ottoolexec_boot %q\n", bootPackage)
	for _, p := range imports {
		if p != bootPackage {
			fmt.Fprintf(&b, "\t_ %q\n", p)
		}
	}
	b.WriteString(")\n\n// __ottoolexec_mainReturned flushes finished spans when main.main returns.\nfunc __ottoolexec_mainReturned() { __ottoolexec_boot.Flush() }\n")
	// This init runs after every imported package's: boot may have waited
	// for an exporter to register (see runtime/boot/otlp.go).
	b.WriteString("\nfunc init() { __ottoolexec_boot.InitDone() }\n")
	return b.String()
}

// mainImports returns the runtime packages a traced main imports: boot,
// and the runtime half of every enabled rule that fits its target. A
// standard library rule that does not fit this toolchain left its target
// untouched, and its runtime half must then stay out, since it refers to
// what the rule would have added.
func mainImports(rules []*hooks.Rule, exporters []string, pkgs map[string]resolve.Package) ([]string, error) {
	var fitting []*hooks.Rule
	for _, r := range rules {
		ok, err := fits(r, pkgs)
		if err != nil {
			return nil, err
		}
		if ok {
			fitting = append(fitting, r)
		}
	}
	return runtimePackages(fitting, exporters), nil
}

// fits reports whether rule r applies to its target as the build compiles
// it. Only standard library rules are checked: their targets are in the
// runtime's own dependencies, described by pkgs.
func fits(r *hooks.Rule, pkgs map[string]resolve.Package) (bool, error) {
	if !r.Std {
		return true, nil
	}
	target, ok := pkgs[r.Package]
	if !ok {
		return false, nil
	}
	var paths []string
	for _, name := range target.GoFiles {
		paths = append(paths, filepath.Join(target.Dir, name))
	}
	u, err := newUnit(r.Package, paths)
	if err != nil {
		return false, fmt.Errorf("checking the %s rule: %w", r.Name, err)
	}
	if untestedToolchain(r, u.srcs) != "" {
		return false, nil
	}
	_, err = splice.Apply(u.srcs, r.Funcs, r.Fields...)
	var misfit *splice.MisfitError
	if errors.As(err, &misfit) {
		return false, nil
	}
	return err == nil, err
}

// moduleVersion returns " (module version vX.Y.Z)" when the package's files
// are in the module cache, whose directories carry the version, for notes
// that say which version did not fit.
func (u *unit) moduleVersion() string {
	for _, src := range u.srcs {
		if i := strings.LastIndex(src.Path, "@"); i >= 0 {
			v := src.Path[i+1:]
			if j := strings.IndexAny(v, `/\`); j >= 0 {
				return " (version " + v[:j] + ")"
			}
		}
	}
	return ""
}

// untestedToolchain returns why a standard library rule must not be applied
// to srcs, or "" when it may. A rule is written against the standard
// library of particular Go releases: a later release can keep every hooked
// signature and still rename what the rule's added files refer to
// (go1.27's net/http has no http2responseWriter), so that splicing it
// would break the build. Such a rule applies only to the Go minor releases
// it is tested with; the toolchain's release is read from the VERSION file
// of the GOROOT the target's files are in.
func untestedToolchain(r *hooks.Rule, srcs []splice.Source) string {
	if !r.Std || len(srcs) == 0 {
		return ""
	}
	release := goReleaseOf(srcs[0].Path, r.Package)
	if release == "" {
		return "" // not a GOROOT layout we know; the signature check still guards
	}
	minor := goMinor(release)
	for _, t := range r.Tested {
		if goMinor(t) == minor && minor != "" {
			return ""
		}
	}
	return fmt.Sprintf("the toolchain is %s, and the %s rule is written for %s only", release, r.Name, strings.Join(r.Tested, ", "))
}

var goMinorRE = regexp.MustCompile(`go1\.\d+`)

// goMinor returns the "go1.N" part of a Go release name, or "".
func goMinor(release string) string {
	return goMinorRE.FindString(release)
}

var goReleases sync.Map // GOROOT -> release ("" if unknown)

// goReleaseOf returns the Go release of the GOROOT that file, a file of the
// standard library package pkgPath, belongs to.
func goReleaseOf(file, pkgPath string) string {
	dir := filepath.Dir(file)
	suffix := filepath.Join("src", filepath.FromSlash(pkgPath))
	if !strings.HasSuffix(dir, string(filepath.Separator)+suffix) {
		return ""
	}
	goroot := strings.TrimSuffix(dir, string(filepath.Separator)+suffix)
	if v, ok := goReleases.Load(goroot); ok {
		return v.(string)
	}
	release := ""
	if data, err := os.ReadFile(filepath.Join(goroot, "VERSION")); err == nil {
		release, _, _ = strings.Cut(string(data), "\n")
		release = strings.TrimSpace(release)
	}
	goReleases.Store(goroot, release)
	return release
}
