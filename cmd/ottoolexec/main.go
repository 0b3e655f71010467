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
	if len(args) > 0 && args[0] == injector.ResolveCommand {
		// Started by a toolexec invocation; nobody reads its output.
		if err := injector.Resolve(args[1:]); err != nil {
			os.Exit(1)
		}
		return
	}
	os.Exit(command(args))
}

const usage = `ottoolexec traces Go programs with no source changes.

Build with it as the go command's toolexec:

	go build -toolexec=ottoolexec ./...
	GOFLAGS=-toolexec=ottoolexec go test ./...

Commands:

	ottoolexec version    print the version and the runtime's module versions
	ottoolexec list       list the integrations
	ottoolexec trace FILE...
	                      print the traces recorded in OTTOOLEXEC_TRACE_FILE files
	ottoolexec go build|test|run|install ...
	                      run the go command with ottoolexec as its toolexec;
	                      after pin: go tool ottoolexec go build ./...
	ottoolexec pin [-version v] [-notool]
	                      record what the runtime needs (and ottoolexec as a
	                      tool, for go tool ottoolexec) in go.mod and go.sum
	ottoolexec help       print this help

See https://github.com/ottoolexec/ottoolexec for the environment variables
that configure traced programs.
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
