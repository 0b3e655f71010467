package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/ottoolexec/ottoolexec/hooks/catalog"
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
		return fmt.Errorf("usage: ottoolexec trace file.jsonl...")
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
