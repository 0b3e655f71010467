// Command ottoolexec gives Go programs distributed tracing with no source
// changes. Use it as the go command's -toolexec:
//
//	go build -toolexec=ottoolexec ./...
//
// and the programs built emit OpenTracing spans for their HTTP traffic,
// reported to Jaeger when JAEGER_* variables are set, else printed as a
// trace tree on standard error.
//
// Other uses:
//
//	ottoolexec version        print the version and the runtime's module versions
//	ottoolexec list           list the integrations
//	ottoolexec trace FILE...  print the traces recorded in OTTOOLEXEC_TRACE_FILE files
//	ottoolexec pin            record the runtime's requirements and the tool in go.mod
//	ottoolexec go build ...   run the go command with ottoolexec as its toolexec
//	                          (after pin: go tool ottoolexec go build ./...)
//	ottoolexec explain PKG... show what a traced build compiles, as diffs
//	ottoolexec help           print this help
package main

import (
	"fmt"
	"os"

	"github.com/ottoolexec/ottoolexec/injector"
)

func main() {
	args := os.Args[1:]
	if injector.IsToolInvocation(args) {
		if err := injector.Toolexec(args); err != nil {
			fmt.Fprintf(os.Stderr, "ottoolexec: %v\n", err)
			os.Exit(2)
		}
		return
	}
	if len(args) > 0 && args[0] == injector.WarmCommand {
		// Started in the background by a toolexec invocation; nobody
		// reads its output (see injector/warm.go).
		if err := injector.Warm(args[1:]); err != nil {
			os.Exit(1)
		}
		return
	}
	os.Exit(command(args))
}

const usage = `ottoolexec traces Go programs with no source changes.

Build with it as the go command's toolexec, and the programs built emit
OpenTracing spans for their HTTP traffic (and more: ottoolexec list):

	go build -toolexec=ottoolexec ./...
	GOFLAGS=-toolexec=ottoolexec go test ./...
	ottoolexec go build ./...            (the same as the first line)

Commands:

	ottoolexec version         the version, the Go it was built with, and the
	                           runtime's module versions
	ottoolexec list [-markdown]
	                           the integrations: target package, tested
	                           versions, whether this build includes them and
	                           whether they fit this toolchain
	ottoolexec explain [packages]
	                           what a traced build compiles instead of the
	                           packages' source, as unified diffs
	ottoolexec trace FILE...   print the traces recorded in
	                           OTTOOLEXEC_TRACE_FILE files, across processes
	ottoolexec pin [-version v] [-notool]
	                           record what the runtime needs (and ottoolexec as
	                           a tool) in go.mod and go.sum, raising nothing
	ottoolexec go build|test|run|install ...
	                           run the go command with this ottoolexec as its
	                           toolexec; after pin: go tool ottoolexec go build
	ottoolexec help            this help

At build time, OTTOOLEXEC_INTEGRATIONS (or ottoolexec.yaml at the module
root) selects integrations: "net/http,-goroutine". Traced programs read
OTTOOLEXEC_SERVICE_NAME, JAEGER_*, OTTOOLEXEC_TRACE_FILE, OTTOOLEXEC_CONSOLE,
OTTOOLEXEC_CALLER_NAME_HEADERS, OTTOOLEXEC_CALLEE_ENDPOINT_HEADERS,
OTTOOLEXEC_FLUSH_TIMEOUT and OTTOOLEXEC_DISABLED; the README says what
each does. In code, //ottrace:span on a function traces its body, and
github.com/ottoolexec/ottoolexec/runtime/ottrace finds the current span.
`

// command runs a user-facing subcommand and returns the exit status.
func command(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Print(usage)
		return 0
	case "version":
		err = versionCmd(args[1:])
	case "list":
		err = listCmd(args[1:])
	case "trace":
		err = traceCmd(args[1:])
	case "pin":
		err = pinCmd(args[1:])
	case "go":
		err = goCmd(args[1:])
	case "explain":
		err = explainCmd(args[1:])
	default:
		fmt.Fprintf(os.Stderr, "ottoolexec: unknown command %q\nRun 'ottoolexec help' for usage.\n", args[0])
		return 2
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ottoolexec %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
