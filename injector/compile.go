package injector

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
// check reads the files of non-standard packages, but parses none without
// the directive).
func compile(tool string, rawArgs []string) error {
	args := toolArgs(rawArgs)
	pkgPath, _ := args.flag("p")
	nested := nestedIdentity() != ""
	rules, err := enabledRules()
	if err != nil {
		return err
	}
	var targeting []*hooks.Rule
	for _, r := range rules {
		if pkgPath != "" && r.Package == pkgPath {
			targeting = append(targeting, r)
		}
	}
	isMain := pkgPath == "main" && !nested
	userCode := !nested && pkgPath != "" && !args.has("-std")
	if len(targeting) == 0 && !isMain && !userCode {
		return run(tool, rawArgs)
	}

	args, err = expandResponseFiles(rawArgs)
	if err != nil {
		return err
	}
	c := &compilation{pkgPath: pkgPath, args: args, first: args.goFiles()}
	if len(targeting) == 0 && !isMain {
		srcs, err := c.sources()
		if err != nil || !directive.Has(srcs) {
			return run(tool, rawArgs) // the compiler reports unreadable files
		}
	}
	out, _ := args.flag("o")
	if out == "" {
		return fmt.Errorf("compile of %s: no -o flag", pkgPath)
	}
	// Spliced files go to the package's own work directory, which the go
	// command removes after the build: nothing is left behind.
	c.workDir = filepath.Join(filepath.Dir(out), "ottoolexec")
	if err := os.MkdirAll(c.workDir, 0o777); err != nil {
		return fmt.Errorf("compile of %s: %w", pkgPath, err)
	}
	for _, r := range targeting {
		if err := c.applyRule(r); err != nil {
			var misfit *splice.MisfitError
			if !errors.As(err, &misfit) {
				return fmt.Errorf("instrumenting %s: %w", pkgPath, err)
			}
			fmt.Fprintf(os.Stderr, "ottoolexec: %s: %v; building it without the %s integration\n", pkgPath, err, r.Name)
		}
	}
	err = c.applyDirectives(userCode)
	if err == nil && isMain {
		err = c.instrumentMain(tool)
	}
	if err == nil {
		err = c.addImports(tool)
	}
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
	return run(tool, c.args)
}

// compilation is a compile command being rewritten.
type compilation struct {
	pkgPath string
	args    toolArgs
	first   int      // index of the first .go file in args
	workDir string   // where rewritten and added files go
	imports []string // runtime packages the rewritten code imports
	build   *build   // the resolution, once needed
}

// buildInfo opens the build's runtime resolution on first use.
func (c *compilation) buildInfo(tool string) (*build, error) {
	if c.build == nil {
		b, err := newBuild(tool)
		if err != nil {
			return nil, err
		}
		c.build = b
	}
	return c.build, nil
}

// applyDirectives wraps the functions marked //ottrace:span.
func (c *compilation) applyDirectives(userCode bool) error {
	if !userCode {
		return nil
	}
	srcs, err := c.sources()
	if err != nil {
		return err
	}
	changed, err := directive.Apply(srcs)
	if err != nil || len(changed) == 0 {
		return err
	}
	c.imports = append(c.imports, directive.RuntimePackage)
	return c.replaceFiles(changed)
}

// addImports puts the archives of the runtime packages the rewritten code
// imports into the compile's import config.
func (c *compilation) addImports(tool string) error {
	if len(c.imports) == 0 {
		return nil
	}
	b, err := c.buildInfo(tool)
	if err != nil {
		return err
	}
	archives, err := b.archives()
	if err != nil {
		return err
	}
	cfgPath, cfgIndex := c.args.flag("importcfg")
	if cfgIndex < 0 {
		return fmt.Errorf("no -importcfg flag")
	}
	cfg, err := importcfg.Read(cfgPath)
	if err != nil {
		return err
	}
	for _, p := range c.imports {
		a, ok := archives[p]
		if !ok {
			return fmt.Errorf("the resolved runtime has no package %s", p)
		}
		cfg.AddPackageFile(p, a.Export)
	}
	newCfg := filepath.Join(c.workDir, "importcfg")
	if err := cfg.Write(newCfg); err != nil {
		return err
	}
	c.args.setFlag("importcfg", cfgIndex, newCfg)
	return nil
}

// sources reads the package's Go files.
func (c *compilation) sources() ([]splice.Source, error) {
	var srcs []splice.Source
	for _, path := range c.args[c.first:] {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, splice.Source{Path: path, Data: data})
	}
	return srcs, nil
}

// applyRule splices r into the package and adds r's files.
func (c *compilation) applyRule(r *hooks.Rule) error {
	srcs, err := c.sources()
	if err != nil {
		return err
	}
	changed, err := splice.Apply(srcs, r.Funcs, r.Fields...)
	if err != nil {
		return err
	}
	if err := c.replaceFiles(changed); err != nil {
		return err
	}
	for _, f := range r.Files {
		if err := c.addFile(r.Name+"_"+f.Name, []byte(f.Content)); err != nil {
			return err
		}
	}
	return nil
}

// replaceFiles writes each changed file to the work directory and points
// the command line at the new copy.
func (c *compilation) replaceFiles(changed map[string][]byte) error {
	for i := c.first; i < len(c.args); i++ {
		data, ok := changed[c.args[i]]
		if !ok {
			continue
		}
		path := filepath.Join(c.workDir, filepath.Base(c.args[i]))
		if err := os.WriteFile(path, data, 0o666); err != nil {
			return err
		}
		c.args[i] = path
	}
	return nil
}

// addFile adds a new source file to the compilation.
func (c *compilation) addFile(name string, data []byte) error {
	path := filepath.Join(c.workDir, "ottoolexec_"+name)
	if err := os.WriteFile(path, data, 0o666); err != nil {
		return err
	}
	c.args = append(c.args, path)
	return nil
}

// instrumentMain makes a main package start the runtime: a file that
// imports it and a deferred flush in main.main.
func (c *compilation) instrumentMain(tool string) error {
	srcs, err := c.sources()
	if err != nil {
		return err
	}
	changed, err := splice.Apply(srcs, []hooks.Func{mainFunc})
	var misfit *splice.MisfitError
	if errors.As(err, &misfit) {
		// No main function here (a test's package main): the runtime still
		// starts through the import; exits flush through os.Exit.
		changed, err = nil, nil
	}
	if err != nil {
		return err
	}
	b, err := c.buildInfo(tool)
	if err != nil {
		return err
	}
	archives, err := b.archives()
	if err != nil {
		return err
	}
	imports, err := mainImports(b.rules, archives)
	if err != nil {
		return err
	}
	if err := c.replaceFiles(changed); err != nil {
		return err
	}
	c.imports = append(c.imports, imports...)
	return c.addFile("main.go", mainFile(imports))
}

// mainFunc defers the flush of finished spans on return from main.main.
var mainFunc = hooks.Func{
	Name:      "main",
	Signature: "()",
	Prologue:  "defer __ottoolexec_mainReturned();",
}

func mainFile(imports []string) []byte {
	var b strings.Builder
	b.WriteString("package main\n\nimport (\n")
	fmt.Fprintf(&b, "\t__ottoolexec_boot %q\n", bootPackage)
	for _, p := range imports {
		if p != bootPackage {
			fmt.Fprintf(&b, "\t_ %q\n", p)
		}
	}
	b.WriteString(")\n\n// __ottoolexec_mainReturned flushes finished spans when main.main returns.\nfunc __ottoolexec_mainReturned() { __ottoolexec_boot.Flush() }\n")
	return []byte(b.String())
}

// mainImports returns the runtime packages a traced main imports: boot,
// and the runtime half of every enabled rule that fits its target. A
// standard library rule that does not fit this toolchain left its target
// untouched, and its runtime half must then stay out, since it refers to
// the variables the rule would have added.
func mainImports(rules []*hooks.Rule, archives map[string]resolve.Package) ([]string, error) {
	var fitting []*hooks.Rule
	for _, r := range rules {
		ok, err := fits(r, archives)
		if err != nil {
			return nil, err
		}
		if ok {
			fitting = append(fitting, r)
		}
	}
	imports := runtimePackages(fitting)
	for _, p := range imports {
		if _, ok := archives[p]; !ok {
			return nil, fmt.Errorf("the resolved runtime has no package %s", p)
		}
	}
	return imports, nil
}

// fits reports whether rule r applies to its target as the build compiles
// it. Only standard library rules are checked: their targets are in the
// runtime's own dependencies.
func fits(r *hooks.Rule, archives map[string]resolve.Package) (bool, error) {
	if !r.Std {
		return true, nil
	}
	target, ok := archives[r.Package]
	if !ok {
		return false, nil
	}
	var srcs []splice.Source
	for _, name := range target.GoFiles {
		path := filepath.Join(target.Dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return false, fmt.Errorf("checking the %s rule: %w", r.Name, err)
		}
		srcs = append(srcs, splice.Source{Path: path, Data: data})
	}
	_, err := splice.Apply(srcs, r.Funcs, r.Fields...)
	var misfit *splice.MisfitError
	if errors.As(err, &misfit) {
		return false, nil
	}
	return err == nil, err
}
