package injector

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"

	"github.com/ottoolexec/ottoolexec/hooks"
	"github.com/ottoolexec/ottoolexec/injector/buildinfo"
	"github.com/ottoolexec/ottoolexec/injector/directive"
	"github.com/ottoolexec/ottoolexec/injector/importcfg"
	"github.com/ottoolexec/ottoolexec/injector/resolve"
)

// link adds the runtime and everything it depends on to the linker's
// import config. The go command runs the linker even when every compile
// was a cache hit, so nothing here may rely on files a compile wrote:
// the archives come from the memoised resolution.
func link(tool string, rawArgs []string) error {
	if nestedIdentity() != "" {
		return run(tool, rawArgs)
	}
	args, err := expandResponseFiles(rawArgs)
	if err != nil {
		return err
	}
	cfgPath, cfgIndex := args.flag("importcfg")
	if cfgIndex < 0 {
		return run(tool, rawArgs)
	}
	b, err := newBuild(tool)
	if err != nil {
		return err
	}
	pgo, err := b.pgoForLink(os.Getenv("TOOLEXEC_IMPORTPATH"))
	if err != nil {
		return err
	}
	b.session.PGO = pgo
	archives, err := b.mainArchives()
	if err != nil {
		return err
	}
	roots, err := b.mainImports(archives)
	if err != nil {
		return err
	}
	cfg, err := importcfg.Read(cfgPath)
	if err != nil {
		return err
	}
	// Packages with //ottrace:span import the directive runtime; a line
	// for a package nothing imports costs the linker nothing.
	roots = append(roots, directive.RuntimePackage)
	// A library spliced by a rule imports the rule's runtime half, which
	// its compile resolved on its own: the same resolution again gives the
	// same archives (from the memo, when the library's compile resolved
	// exactly this set). Packages the main resolution has already keep
	// its archives: for a test binary those are test variants.
	inProgram := func(path string) bool {
		_, inBuild := cfg.PackageFiles[path]
		_, inRuntime := archives[path] // grpc, under the OTLP exporter
		return inBuild || inRuntime
	}
	for _, imports := range spliceImports(b.rules, inProgram) {
		more, err := b.archives(imports)
		if err != nil {
			return err
		}
		for path, p := range more {
			if _, ok := archives[path]; !ok {
				archives[path] = p
			}
		}
		roots = append(roots, imports...)
	}
	deps, err := closure(roots, archives)
	if err != nil {
		return err
	}
	var addedModules []string
	for _, p := range deps {
		if cfg.AddPackageFile(p, archives[p].Export) && archives[p].Module != "" {
			addedModules = append(addedModules, archives[p].Module)
		}
	}
	if err := b.recordModules(cfg, addedModules); err != nil {
		return err
	}
	newCfg := filepath.Join(filepath.Dir(cfgPath), "importcfg.ottoolexec.link")
	if err := cfg.Write(newCfg); err != nil {
		return err
	}
	args.setFlag("importcfg", cfgIndex, newCfg)
	return run(tool, args)
}

// recordModules lists the modules modPaths (those of the runtime packages
// the link adds to the program) in the program's module information,
// beside the user's own (see package buildinfo): `go version -m` and
// scanners of binaries then see that opentracing-go, jaeger-client-go and
// the rest are in it. A link without a modinfo line, or with one in a
// format this ottoolexec does not know, is left as it is.
func (b *build) recordModules(cfg *importcfg.File, modPaths []string) error {
	info, ok, err := cfg.ModInfo()
	if err != nil || !ok || len(modPaths) == 0 {
		return nil // a malformed line is the linker's to report
	}
	versions, err := b.session.Versions()
	if err != nil {
		return err
	}
	known := make(map[string]debug.Module, len(versions)+2)
	for _, m := range versions {
		known[m.Path] = *debugModule(m)
	}
	// The OTLP exporter's module is a nested module of ottoolexec's,
	// written out with the same source.
	self := selfModule()
	otlp := debug.Module{Path: resolve.OTLPModulePath, Version: self.Version}
	if self.Replace != nil {
		otlp.Version = self.Replace.Version
	}
	known[self.Path], known[otlp.Path] = self, otlp
	var deps []debug.Module
	seen := make(map[string]bool)
	for _, path := range modPaths {
		if m, ok := known[path]; ok && !seen[path] {
			seen[path] = true
			deps = append(deps, m)
		}
	}
	if updated, ok := buildinfo.AddDeps(info, deps); ok {
		cfg.SetModInfo(updated)
	}
	return nil
}

// debugModule is m as the go command describes a dependency in build
// information: a replaced module carries the replacement, and its sum.
func debugModule(m resolve.Module) *debug.Module {
	version := m.Version
	if version == "" {
		version = "(devel)" // a directory replacement
	}
	dm := &debug.Module{Path: m.Path, Version: version, Sum: m.Sum}
	if m.Replace != nil {
		dm.Sum = ""
		dm.Replace = debugModule(*m.Replace)
	}
	return dm
}

// selfModule describes ottoolexec's own module as this binary knows it,
// which is the version of the runtime source it links: the main module
// of a `go install ottoolexec@version`, or, run as `go tool ottoolexec`,
// the requirement of the user's module it was built from (checked at
// resolution to carry the same runtime). A build from a checkout is
// "(devel)".
func selfModule() debug.Module {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return debug.Module{Path: resolve.ModulePath, Version: "(devel)"}
	}
	return ownModule(info)
}

// ownModule finds ottoolexec's module in the build information of the
// ottoolexec binary.
func ownModule(info *debug.BuildInfo) debug.Module {
	if info.Main.Path == resolve.ModulePath && info.Main.Version != "" {
		return debug.Module{Path: resolve.ModulePath, Version: info.Main.Version}
	}
	for _, d := range info.Deps {
		if d.Path == resolve.ModulePath {
			return *d
		}
	}
	return debug.Module{Path: resolve.ModulePath, Version: "(devel)"}
}

// spliceImports returns, for each package of the program (those for
// which inProgram is true) that rules for non-standard targets splice, the
// runtime packages its spliced code imports: what its compile resolved
// (compilation.addImports) when every rule for it fit.
func spliceImports(rules []*hooks.Rule, inProgram func(string) bool) [][]string {
	byTarget := make(map[string][]string)
	var targets []string
	for _, r := range rules {
		if r.Std || len(r.Imports) == 0 || !inProgram(r.Package) {
			continue
		}
		if _, ok := byTarget[r.Package]; !ok {
			targets = append(targets, r.Package)
		}
		for _, p := range r.Imports {
			byTarget[r.Package] = append(byTarget[r.Package], p)
		}
	}
	var out [][]string
	for _, t := range targets {
		out = append(out, byTarget[t])
	}
	return out
}

// closure returns roots and all their dependencies, sorted.
func closure(roots []string, pkgs map[string]resolve.Package) ([]string, error) {
	seen := make(map[string]bool)
	add := func(path string) error {
		if path == "unsafe" || path == "C" {
			return nil // no archive
		}
		if _, ok := pkgs[path]; !ok {
			return fmt.Errorf("the resolved runtime lacks %s", path)
		}
		seen[path] = true
		return nil
	}
	for _, r := range roots {
		if err := add(r); err != nil {
			return nil, err
		}
		for _, dep := range pkgs[r].Deps {
			if err := add(dep); err != nil {
				return nil, err
			}
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}
