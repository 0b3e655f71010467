package injector

import (
	"fmt"
	"os"
	"strings"

	"github.com/ottoolexec/ottoolexec/hooks"
	"github.com/ottoolexec/ottoolexec/injector/config"
	"github.com/ottoolexec/ottoolexec/injector/goflags"
	"github.com/ottoolexec/ottoolexec/injector/resolve"
)

// build is what a toolexec invocation knows about the build it is part of.
type build struct {
	rules     []*hooks.Rule // enabled integrations
	exporters []string      // optional exporters selected
	session   *resolve.Session
}

// newBuild inspects the parent go command and opens the runtime
// resolution session for it.
func newBuild(tool string) (*build, error) {
	args, dir, err := parentCommand()
	if err != nil {
		return nil, err
	}
	return openBuild(tool, args, dir)
}

// openBuild opens the resolution session for the go command run as args
// in dir.
func openBuild(tool string, args []string, dir string) (*build, error) {
	rules, err := enabledRules()
	if err != nil {
		return nil, err
	}
	exporters, err := selectedExporters()
	if err != nil {
		return nil, err
	}
	flags, err := goflags.Parse(args)
	if err != nil {
		return nil, fmt.Errorf("reading the go command's flags: %w", err)
	}
	goCmd := goCommand(tool)
	env, err := resolve.ReadGoEnv(goCmd, dir)
	if err != nil {
		return nil, err
	}
	cache, err := cacheDir()
	if err != nil {
		return nil, err
	}
	self, err := selfID()
	if err != nil {
		return nil, err
	}
	s := &resolve.Session{
		GoCmd:  goCmd,
		Dir:    dir,
		Env:    env,
		Flags:  flags,
		SelfID: self,
		// Everything spliced code may import: what main packages import,
		// what //ottrace:span directives call, and what rules for
		// non-standard targets call.
		Packages: append(mainPackages(rules, exporters), importedPackages(rules)...),
		OTLP:     hasOTLP(exporters),
		CacheDir: cache,
		// The nested build splices exactly the parent's selection, even
		// where it would not find the parent's ottoolexec.yaml.
		Environ: []string{"OTTOOLEXEC_DISABLE=", "OTTOOLEXEC_INTEGRATIONS=" + ruleNames(rules),
			config.ExportersVar + "=" + strings.Join(exporters, ",")},
	}
	if err := s.Open(); err != nil {
		return nil, err
	}
	return &build{rules: rules, exporters: exporters, session: s}, nil
}

// identity returns the tool identity of this build.
func (b *build) identity() (string, error) {
	versions, err := b.session.Versions()
	if err != nil {
		return "", err
	}
	return identity(b.rules, b.exporters, versions, b.session.CacheDir)
}

// mainArchives returns the compiled runtime packages a main package may
// import (mainPackages) with their dependencies.
func (b *build) mainArchives() (map[string]resolve.Package, error) {
	main := mainPackages(b.rules, b.exporters)
	// The test binary of a package the runtime depends on links test
	// variants of it: the runtime must be compiled against those.
	if tested, ok := strings.CutSuffix(os.Getenv("TOOLEXEC_IMPORTPATH"), ".test"); ok {
		pkgs, err := b.archives(main)
		if err != nil {
			return nil, err
		}
		if p, ok := pkgs[tested]; ok {
			id, self, err := b.ids()
			if err != nil {
				return nil, err
			}
			return b.session.TestArchives(p, self, id, main)
		}
		return pkgs, nil
	}
	return b.archives(main)
}

// archives returns the compiled runtime packages pkgs with their
// dependencies (see resolve.Session.Archives).
func (b *build) archives(pkgs []string) (map[string]resolve.Package, error) {
	id, self, err := b.ids()
	if err != nil {
		return nil, err
	}
	return b.session.Archives(self, id, pkgs)
}

// ids returns the tool identity of this build and ottoolexec's own
// executable, which nested builds run as their toolexec.
func (b *build) ids() (identity, self string, err error) {
	if identity, err = b.identity(); err != nil {
		return "", "", err
	}
	if self, err = os.Executable(); err != nil {
		return "", "", fmt.Errorf("finding ottoolexec's own executable: %w", err)
	}
	return identity, self, nil
}

// ruleNames lists the names of rules, comma-separated.
func ruleNames(rules []*hooks.Rule) string {
	var names []string
	for _, r := range rules {
		names = append(names, r.Name)
	}
	return strings.Join(names, ",")
}

// mainImports returns the runtime packages a traced main imports in this
// build (see mainImports), memoised: checking which rules fit parses parts
// of the standard library, which every link would otherwise repeat.
func (b *build) mainImports(archives map[string]resolve.Package) ([]string, error) {
	id, err := b.identity()
	if err != nil {
		return nil, err
	}
	var imports []string
	err = b.session.Memo("imports-"+resolve.ShortHash(id), &imports, func() error {
		imports, err = mainImports(b.rules, b.exporters, archives)
		return err
	})
	return imports, err
}
