package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/ottoolexec/ottoolexec/hooks/catalog"
	"github.com/ottoolexec/ottoolexec/injector/pin"
	"github.com/ottoolexec/ottoolexec/injector/resolve"
	"github.com/ottoolexec/ottoolexec/runtime/export"
)

func noArgs(cmd string, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	return nil
}

func versionCmd(args []string) error {
	if err := noArgs("version", args); err != nil {
		return err
	}
	version := "(devel)"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		version = info.Main.Version
	}
	fmt.Printf("ottoolexec %s\n", version)
	gomod, _, err := resolve.RuntimeGoMod()
	if err != nil {
		return err
	}
	fmt.Printf("runtime module requirements:\n%s", gomod)
	return nil
}

func listCmd(args []string) error {
	if err := noArgs("list", args); err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tTARGET\tDESCRIPTION")
	for _, r := range catalog.Rules {
		fmt.Fprintf(w, "%s\t%s\t%s\n", r.Name, r.Package, r.Doc)
	}
	return w.Flush()
}

// traceCmd prints the trace trees recorded in JSONL trace files (what
// traced programs write to OTTOOLEXEC_TRACE_FILE), merging the spans of
// every process that wrote to them.
func traceCmd(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: ottoolexec trace FILE [FILE ...]")
	}
	var all []export.Span
	for _, name := range args {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		spans, err := export.ReadJSONL(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		all = append(all, spans...)
	}
	if len(all) == 0 {
		return fmt.Errorf("no spans in %s", strings.Join(args, ", "))
	}
	return export.WriteTree(os.Stdout, all)
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
