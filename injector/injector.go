// Package injector is ottoolexec's build-time engine: it speaks the
// go command's -toolexec protocol, passes through every tool invocation it
// has no business with, and for the others splices the hooks catalogue
// into the compiler's input and the runtime into the linker's.
//
// The go command runs `ottoolexec <tool> <args>` for every compile, asm,
// cgo, link, vet... of a build. What happens to each:
//
//   - `<tool> -V=full` (the go command asking for the tool's identity, which
//     keys its build cache): compile and link answer with ottoolexec's
//     identity appended (identity.go).
//   - compile of a package a rule targets: the rule's functions get their
//     prologues and the rule's files are added (compile.go).
//   - compile of a main package: a file importing the runtime is added and
//     main.main defers a flush of the spans (compile.go).
//   - link: the runtime's archives are added to the import config (link.go).
//   - anything else: exec'd unchanged, without parsing anything.
package injector

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/ottoolexec/ottoolexec/hooks"
	"github.com/ottoolexec/ottoolexec/hooks/catalog"
	"github.com/ottoolexec/ottoolexec/injector/config"
	"github.com/ottoolexec/ottoolexec/injector/directive"
	"github.com/ottoolexec/ottoolexec/injector/resolve"
)

// IsToolInvocation reports whether args (the arguments after the program
// name) are a toolexec invocation: a path to a Go tool, then its arguments.
func IsToolInvocation(args []string) bool {
	return len(args) > 0 && strings.ContainsAny(args[0], `/\`) && filepath.IsAbs(args[0])
}

// Toolexec runs one toolexec invocation: args[0] is the tool, the rest its
// arguments. It returns only on error; on success it execs the tool or
// exits with the tool's status.
func Toolexec(args []string) error {
	tool, toolArgs := args[0], args[1:]
	name := strings.TrimSuffix(filepath.Base(tool), ".exe")
	if name != "compile" && name != "link" {
		return run(tool, toolArgs)
	}
	if len(toolArgs) == 1 && toolArgs[0] == "-V=full" {
		return printVersion(tool, name)
	}
	switch name {
	case "compile":
		return compile(tool, toolArgs)
	default:
		return link(tool, toolArgs)
	}
}

// nestedIdentity returns the identity of the build that started this
// nested go command, or "" outside nested commands.
func nestedIdentity() string {
	return os.Getenv(resolve.NestedEnv)
}

// printVersion answers `<tool> -V=full` with the tool's own answer plus
// ottoolexec's identity.
func printVersion(tool, name string) error {
	out, err := toolOutput(tool, "-V=full")
	if err != nil {
		return err
	}
	id := nestedIdentity()
	if id == "" {
		b, err := newBuild(tool)
		if err != nil {
			return err
		}
		if id, err = b.identity(); err != nil {
			return err
		}
	}
	_, err = os.Stdout.WriteString(withIdentity(out, id))
	return err
}

// enabledRules returns the integrations this build includes: the
// selection in OTTOOLEXEC_INTEGRATIONS, else in ottoolexec.yaml at the main
// module's root, else all (see injector/config). OTTOOLEXEC_DISABLE=a,b is
// kept as a shorthand for OTTOOLEXEC_INTEGRATIONS=-a,-b.
var enabledRules = sync.OnceValues(func() ([]*hooks.Rule, error) {
	env := os.Getenv(config.EnvVar)
	if disable := os.Getenv("OTTOOLEXEC_DISABLE"); disable != "" {
		if env != "" {
			return nil, fmt.Errorf("set %s or OTTOOLEXEC_DISABLE, not both", config.EnvVar)
		}
		for _, name := range strings.Split(disable, ",") {
			if name = strings.TrimSpace(name); name != "" {
				env += ",-" + name
			}
		}
		env = strings.TrimPrefix(env, ",")
	}
	root := ""
	if strings.TrimSpace(env) == "" {
		root = moduleRootFrom(configDir())
	}
	var all []config.Integration
	for _, r := range catalog.Rules {
		all = append(all, config.Integration{Name: r.Name, Package: r.Package, Core: r.Core})
	}
	names, _, err := config.Select(all, env, root)
	if err != nil && os.Getenv("OTTOOLEXEC_DISABLE") != "" {
		// Name the variable the user actually set.
		return nil, errors.New(strings.Replace(err.Error(), config.EnvVar, "OTTOOLEXEC_DISABLE", 1))
	}
	if err != nil {
		return nil, err
	}
	on := make(map[string]bool)
	for _, n := range names {
		on[n] = true
	}
	var rules []*hooks.Rule
	for _, r := range catalog.Rules {
		if on[r.Name] {
			rules = append(rules, r)
		}
	}
	return rules, nil
})

// selectedExporters returns the optional exporters this build links, from
// OTTOOLEXEC_EXPORTERS (see injector/config).
var selectedExporters = sync.OnceValues(func() ([]string, error) {
	return config.SelectExporters(os.Getenv(config.ExportersVar))
})

// hasOTLP reports whether exporters selects the OTLP exporter.
func hasOTLP(exporters []string) bool {
	for _, e := range exporters {
		if e == "otlp" {
			return true
		}
	}
	return false
}

// targeted reports whether any integration, enabled or not, targets
// pkgPath: the cheap test that lets every other package skip reading the
// configuration.
func targeted(pkgPath string) bool {
	for _, r := range catalog.Rules {
		if r.Package == pkgPath {
			return true
		}
	}
	return false
}

// configDir is where the build's configuration is looked for: the
// working directory of the go command running the build, or for
// ottoolexec's own commands (list, explain) the directory they run in.
var configDir = func() string {
	_, dir, err := parentCommand()
	if err != nil {
		return ""
	}
	return dir
}

// moduleRootFrom returns the nearest directory holding a go.mod at or
// above dir, or "" outside a module.
func moduleRootFrom(dir string) string {
	if dir == "" {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// runtimePackages returns the runtime packages a traced main imports when
// the given rules and exporters are in force: the boot package, the
// exporters', then each rule's own.
func runtimePackages(rules []*hooks.Rule, exporters []string) []string {
	pkgs := []string{bootPackage}
	if hasOTLP(exporters) {
		pkgs = append(pkgs, resolve.OTLPPackage)
	}
	seen := map[string]bool{bootPackage: true}
	for _, r := range rules {
		for _, p := range r.Runtime {
			if !seen[p] {
				seen[p] = true
				pkgs = append(pkgs, p)
			}
		}
	}
	return pkgs
}

const bootPackage = "github.com/ottoolexec/ottoolexec/runtime/boot"

// mainPackages returns the runtime packages that a main package's compile
// resolves: what a traced main may import (runtimePackages; the rules that
// do not fit are only known once these are compiled) and the runtime of
// //ottrace:span directives, which the program's own packages import. The
// runtime halves of rules for non-standard targets are not among them: the
// library they splice imports them, so a program without that library
// never compiles them (see resolve.Session.Archives).
func mainPackages(rules []*hooks.Rule, exporters []string) []string {
	return append(runtimePackages(rules, exporters), directive.RuntimePackage)
}

// importedPackages returns the runtime packages that spliced code of the
// given rules imports from inside non-standard targets.
func importedPackages(rules []*hooks.Rule) []string {
	var pkgs []string
	seen := make(map[string]bool)
	for _, r := range rules {
		for _, p := range r.Imports {
			if !seen[p] {
				seen[p] = true
				pkgs = append(pkgs, p)
			}
		}
	}
	sort.Strings(pkgs)
	return pkgs
}

// cacheDir returns the directory where ottoolexec keeps the runtime source
// and its resolution memos: OTTOOLEXEC_CACHE, else ottoolexec/ in the
// user's cache directory.
func cacheDir() (string, error) {
	if dir := os.Getenv("OTTOOLEXEC_CACHE"); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", fmt.Errorf("OTTOOLEXEC_CACHE=%s: %w", dir, err)
		}
		if err := os.MkdirAll(abs, 0o777); err != nil {
			return "", fmt.Errorf("OTTOOLEXEC_CACHE=%s cannot be used: %w", dir, err)
		}
		return abs, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set OTTOOLEXEC_CACHE): %w", err)
	}
	return filepath.Join(dir, "ottoolexec"), nil
}

// goCommand returns the go command of the toolchain that tool belongs to
// ($GOROOT/pkg/tool/$GOOS_$GOARCH/compile -> $GOROOT/bin/go), so that a
// nested build uses the same toolchain even under GOTOOLCHAIN switching.
func goCommand(tool string) string {
	root := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(tool))))
	exe := filepath.Join(root, "bin", "go")
	if filepath.Ext(tool) == ".exe" {
		exe += ".exe"
	}
	if _, err := os.Stat(exe); err == nil {
		return exe
	}
	return "go"
}
