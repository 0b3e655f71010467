package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"golang.org/x/mod/modfile"

	"github.com/ottoolexec/ottoolexec/hooks"
	"github.com/ottoolexec/ottoolexec/hooks/catalog"
	"github.com/ottoolexec/ottoolexec/injector"
	"github.com/ottoolexec/ottoolexec/injector/pin"
	"github.com/ottoolexec/ottoolexec/injector/resolve"
	"github.com/ottoolexec/ottoolexec/runtime/spanfile"
)

func noArgs(cmd string, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	return nil
}

// versionCmd prints ottoolexec's version, the Go it was built with, and
// the module versions of the runtime it links into traced binaries.
func versionCmd(args []string) error {
	if err := noArgs("version", args); err != nil {
		return err
	}
	version := "(devel)"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		version = info.Main.Version
	}
	fmt.Printf("ottoolexec %s, built with %s for %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	gomod, _, err := resolve.RuntimeGoMod()
	if err != nil {
		return err
	}
	f, err := modfile.Parse("runtime go.mod", gomod, nil)
	if err != nil {
		return err
	}
	fmt.Println("runtime dependencies:")
	for _, r := range f.Require {
		fmt.Printf("\t%s %s\n", r.Mod.Path, r.Mod.Version)
	}
	return nil
}

// listCmd prints the integrations, whether this build includes them and
// whether they fit the toolchain.
func listCmd(args []string) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	markdown := fs.Bool("markdown", false, "print a Markdown table (for the README)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *markdown {
		writeMarkdown(os.Stdout, catalog.Rules)
		return nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	rules, err := injector.Catalog(dir)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tTARGET\tTESTED WITH\tON\tFITS\tDESCRIPTION")
	for _, r := range rules {
		on := map[bool]string{true: "yes", false: "no"}[r.Enabled]
		if r.Core {
			on = "always"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Package, strings.Join(r.Tested, ","), on, r.Fits, r.Doc)
	}
	return w.Flush()
}

// writeMarkdown prints the catalogue as the Markdown table the README
// carries (TestReadmeCatalog keeps the two the same), whatever the
// configuration of the directory it runs in.
func writeMarkdown(w io.Writer, rules []*hooks.Rule) {
	fmt.Fprintln(w, "| integration | target | tested with | what it traces |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rules {
		fmt.Fprintf(w, "| `%s` | `%s` | %s | %s |\n", r.Name, r.Package, strings.Join(r.Tested, ", "), r.Doc)
	}
}

// explainCmd prints what a traced build of the packages would compile
// instead of their source.
func explainCmd(args []string) error {
	if len(args) == 0 {
		args = []string{"."}
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			return fmt.Errorf("unknown flag %s (explain takes packages; put build flags in GOFLAGS)", a)
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	return injector.Explain(os.Stdout, dir, args)
}

// traceCmd prints the trace trees recorded in JSONL trace files (what
// traced programs write to OTTOOLEXEC_TRACE_FILE), merging the spans of
// every process that wrote to them.
func traceCmd(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: ottoolexec trace FILE [FILE ...]")
	}
	// A damaged file (a process killed in the middle of a line, other
	// output mixed in) still shows every span it holds; the lines that
	// are not spans are named on stderr, and the exit status says so.
	const namedBad = 5 // lines named per file; the rest are counted
	var all []spanfile.Span
	skipped := 0
	for _, name := range args {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		spans, bad, err := spanfile.ReadJSONLSkipping(f)
		f.Close()
		if err != nil {
			// What was read before is shown, and so are the other files.
			bad = append(bad, fmt.Errorf("%w; the rest of the file is not read", err))
		}
		for i, e := range bad {
			if i == namedBad {
				fmt.Fprintf(os.Stderr, "ottoolexec trace: %s: %d more lines skipped\n", name, len(bad)-namedBad)
				break
			}
			fmt.Fprintf(os.Stderr, "ottoolexec trace: %s: %v (skipped)\n", name, e)
		}
		skipped += len(bad)
		all = append(all, spans...)
	}
	if len(all) == 0 {
		return fmt.Errorf("no spans in %s", strings.Join(args, ", "))
	}
	if err := spanfile.WriteTree(os.Stdout, all); err != nil {
		return err
	}
	switch {
	case skipped == 1:
		return fmt.Errorf("1 line was not a span and was skipped")
	case skipped > 1:
		return fmt.Errorf("%d lines were not spans and were skipped", skipped)
	}
	return nil
}

// pinCmd records the runtime's requirements (and ottoolexec as a tool) in
// the current module's go.mod and go.sum.
func pinCmd(args []string) error {
	fs := flag.NewFlagSet("pin", flag.ContinueOnError)
	version := fs.String("version", "", "ottoolexec `version` for the tool line (default: this binary's version)")
	noTool := fs.Bool("notool", false, "record only the runtime's requirements, without a tool line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *version == "" && !*noTool {
		info, ok := debug.ReadBuildInfo()
		if !ok || info.Main.Version == "" || info.Main.Version == "(devel)" {
			return fmt.Errorf("this ottoolexec is a development build with no version of its own: name the published version to pin with -version, or use -notool")
		}
		*version = info.Main.Version
	}
	if *noTool {
		*version = ""
	}
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	changes, err := pin.Pin(pin.Options{Dir: dir, GoCmd: "go", Version: *version})
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		fmt.Println("go.mod already has everything the ottoolexec runtime needs")
	}
	for _, c := range changes {
		fmt.Printf("added %s %s\n", c.Path, c.New)
	}
	if *version != "" {
		fmt.Printf("tool %s (run it as: go tool ottoolexec go build ./...)\n", pin.ToolPackage)
	}
	return nil
}

// goCmd runs the go command with this ottoolexec as its toolexec:
// `ottoolexec go build ./...` is `go build -toolexec=/path/to/ottoolexec
// ./...`. It is how `go tool ottoolexec` is used, since a toolexec of
// "go tool ottoolexec" would run in each package's directory, where the
// module that pins the tool is not in scope.
func goCmd(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: ottoolexec go build|test|run|install|vet|list [flags] [packages]")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	goArgs := append([]string{args[0], "-toolexec=" + self}, args[1:]...)
	cmd := exec.Command("go", goArgs...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		os.Exit(exit.ExitCode())
	}
	return err
}
