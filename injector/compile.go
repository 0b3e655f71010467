package injector

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ottoolexec/ottoolexec/hooks"
	"github.com/ottoolexec/ottoolexec/injector/directive"
	"github.com/ottoolexec/ottoolexec/injector/importcfg"
	"github.com/ottoolexec/ottoolexec/injector/resolve"
	"github.com/ottoolexec/ottoolexec/injector/splice"
)

// compile handles one compiler invocation. Packages that no rule targets,
// that are not main packages and that carry no //ottrace:span directive go
// straight to the compiler; their source is not even parsed (the directive
// check reads the files of non-standard packages, but parses only those
// with the directive).
func compile(tool string, rawArgs []string) error {
	args := toolArgs(rawArgs)
	pkgPath, _ := args.flag("p")
	nested := nestedIdentity() != ""
	var targeting []*hooks.Rule
	if targeted(pkgPath) {
		rules, err := enabledRules()
		if err != nil {
			return err
		}
		for _, r := range rules {
			if r.Package == pkgPath {
				targeting = append(targeting, r)
			}
		}
	}
	isMain := pkgPath == "main" && !nested
	userCode := !nested && pkgPath != "" && !args.has("-std")
	if len(targeting) == 0 && !isMain && !userCode {
		return run(tool, rawArgs)
	}

	args, err := expandResponseFiles(rawArgs)
	if err != nil {
		return err
	}
	first := args.goFiles()
	u, err := newUnit(pkgPath, args[first:])
	if err != nil {
		return run(tool, rawArgs) // the compiler reports unreadable files
	}
	if len(targeting) == 0 && !isMain && !directive.Has(u.srcs) {
		return run(tool, rawArgs)
	}
	c := &compilation{tool: tool, args: args, first: first, unit: u}
	if pkgPath == warmAfter && !nested {
		c.startWarm()
	}
	err = c.instrument(targeting, isMain, userCode)
	var syntax *splice.SyntaxError
	var misuse *directive.Error
	switch {
	case errors.As(err, &syntax):
		// Let the compiler report the user's mistake its own way.
		return run(tool, rawArgs)
	case errors.As(err, &misuse):
		return err // file:line: what is wrong
	case err != nil:
		return fmt.Errorf("instrumenting %s: %w", pkgPath, err)
	}
	for _, note := range u.notes {
		fmt.Fprintf(os.Stderr, "ottoolexec: %s\n", note)
	}
	return run(tool, c.args)
}

// compilation is a compile command being rewritten.
type compilation struct {
	tool  string
	args  toolArgs
	first int // index of the first .go file in args
	unit  *unit
	build *build // the runtime resolution, once needed
}

// instrument rewrites the package's source and the command line.
func (c *compilation) instrument(targeting []*hooks.Rule, isMain, userCode bool) error {
	u := c.unit
	targeting, err := c.fitTestVariant(targeting)
	if err != nil {
		return err
	}
	for _, r := range targeting {
		if err := u.applyRule(r); err != nil {
			return err
		}
	}
	if userCode {
		if err := u.applyDirectives(); err != nil {
			return err
		}
	}
	var archives map[string]resolve.Package
	if isMain {
		var err error
		if archives, err = c.mainArchives(); err != nil {
			return err
		}
		imports, err := c.build.mainImports(archives)
		if err != nil {
			return err
		}
		if err := u.applyMain(imports); err != nil {
			return err
		}
	}
	if err := c.addImports(archives); err != nil {
		return err
	}
	return c.writeFiles()
}

// fitTestVariant drops the rules for a library that this compile builds
// as a test variant of one of the library's dependencies ("L [T.test]":
// the test binary of T, where L depends on T) whose runtime halves depend
// on T too. The halves are compiled once, against the plain T, and a test
// binary links T's test variant: the linker would refuse the mix
// ("fingerprint mismatch"). That happens in tests of the standard
// packages under net/http with the OTLP exporter, whose gRPC is spliced;
// the library then goes untraced in that test binary (with a note), which
// is what such a test wants anyway.
func (c *compilation) fitTestVariant(rules []*hooks.Rule) ([]*hooks.Rule, error) {
	tested, ok := testedBy(os.Getenv("TOOLEXEC_IMPORTPATH"))
	if !ok || tested == c.unit.pkgPath {
		return rules, nil
	}
	var imports []string
	for _, r := range rules {
		if !r.Std {
			for _, path := range r.Imports {
				imports = append(imports, path)
			}
		}
	}
	if len(imports) == 0 {
		return rules, nil
	}
	b, err := c.session()
	if err != nil {
		return nil, err
	}
	archives, err := b.archives(imports)
	if err != nil {
		return nil, err
	}
	needsTested := func(path string) bool {
		return path == tested || slices.Contains(archives[path].Deps, tested)
	}
	var kept []*hooks.Rule
	for _, r := range rules {
		fits := true
		if !r.Std {
			for _, path := range r.Imports {
				fits = fits && !needsTested(path)
			}
		}
		if fits {
			kept = append(kept, r)
			continue
		}
		c.unit.notes = append(c.unit.notes, fmt.Sprintf("%s: left without the %s integration in the test binary of %s, which its tracing code depends on", c.unit.pkgPath, r.Name, tested))
	}
	return kept, nil
}

// testedBy returns T for the import path of a test variant, "L [T.test]".
func testedBy(importPath string) (string, bool) {
	_, variant, ok := strings.Cut(importPath, " [")
	if !ok {
		return "", false
	}
	tested, ok := strings.CutSuffix(variant, ".test]")
	if !ok {
		return "", false
	}
	return tested, true
}

// session returns the build's runtime resolution, opening it on first
// use, with the PGO profile this compile uses.
func (c *compilation) session() (*build, error) {
	if c.build == nil {
		b, err := newBuild(c.tool)
		if err != nil {
			return nil, err
		}
		c.build = b
	}
	pgo, err := c.pgoForCompile()
	if err != nil {
		return nil, err
	}
	c.build.session.PGO = pgo
	return c.build, nil
}

// mainArchives returns what a main package may import of the runtime,
// compiled. The link of this program reads the PGO note it leaves: the
// link has no profile on its command line.
func (c *compilation) mainArchives() (map[string]resolve.Package, error) {
	b, err := c.session()
	if err != nil {
		return nil, err
	}
	note := b.session.PGO
	if note == "" {
		note = "repeat"
	}
	if err := b.session.WriteNote(pgoNote(os.Getenv("TOOLEXEC_IMPORTPATH")), note); err != nil {
		return nil, err
	}
	return b.mainArchives()
}

// addImports puts the archives of the runtime packages the new code
// imports into the compile's import config. A main package has them in
// archives already; another package resolves exactly what it imports.
func (c *compilation) addImports(archives map[string]resolve.Package) error {
	if len(c.unit.imports) == 0 {
		return nil
	}
	if archives == nil {
		b, err := c.session()
		if err != nil {
			return err
		}
		if archives, err = b.archives(c.unit.imports); err != nil {
			return err
		}
	}
	cfgPath, cfgIndex := c.args.flag("importcfg")
	if cfgIndex < 0 {
		return fmt.Errorf("no -importcfg flag")
	}
	cfg, err := importcfg.Read(cfgPath)
	if err != nil {
		return err
	}
	for _, p := range c.unit.imports {
		a, ok := archives[p]
		if !ok {
			return fmt.Errorf("the resolved runtime has no package %s", p)
		}
		cfg.AddPackageFile(p, a.Export)
	}
	dir, err := c.workDir()
	if err != nil {
		return err
	}
	newCfg := filepath.Join(dir, "importcfg")
	if err := cfg.Write(newCfg); err != nil {
		return err
	}
	c.args.setFlag("importcfg", cfgIndex, newCfg)
	return nil
}

// workDir is where rewritten and added files go: in the package's own work
// directory, which the go command removes after the build, so nothing is
// left behind.
func (c *compilation) workDir() (string, error) {
	out, _ := c.args.flag("o")
	if out == "" {
		return "", fmt.Errorf("no -o flag")
	}
	dir := filepath.Join(filepath.Dir(out), "ottoolexec")
	return dir, os.MkdirAll(dir, 0o777)
}

// writeFiles writes the changed and added files and points the command
// line at them.
func (c *compilation) writeFiles() error {
	dir, err := c.workDir()
	if err != nil {
		return err
	}
	for i, src := range c.unit.srcs {
		if !c.unit.edited[i] {
			continue
		}
		path := filepath.Join(dir, filepath.Base(src.Path))
		if err := os.WriteFile(path, src.Data, 0o666); err != nil {
			return err
		}
		c.args[c.first+i] = path
	}
	for _, f := range c.unit.added {
		path := filepath.Join(dir, f.Name)
		if err := os.WriteFile(path, []byte(f.Content), 0o666); err != nil {
			return err
		}
		c.args = append(c.args, path)
	}
	return nil
}
