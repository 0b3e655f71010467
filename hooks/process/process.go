// Package process makes traced programs flush their spans however they
// end: on os.Exit (and so log.Fatal), and on SIGINT and SIGTERM.
//
// os.Exit gets a prologue that calls the runtime before the process goes.
// os/signal.Notify gets a prologue that tells the runtime which signals the
// program handles itself, and os/signal.process one that hands each
// arriving signal to the runtime: a signal the program handles is left to
// it (its spans flush when it exits), any other is flushed for and then
// raised again to kill the process as it would have.
// Return from main.main is handled by the injector itself, which defers a
// flush in every traced main function.
//
// The runtime half is the package in ./trace.
package process

import (
	_ "embed"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_os.go.txt
var injectOS string

//go:embed inject_signal.go.txt
var injectSignal string

const runtimePackage = "github.com/ottoolexec/ottoolexec/hooks/process/trace"

// ExitRule flushes spans on os.Exit.
var ExitRule = &hooks.Rule{
	Name:    "exit",
	Doc:     "flush spans on os.Exit and log.Fatal",
	Package: "os",
	Std:     true,
	Tested:  []string{"go1.26.8"},
	Core:    true,
	Funcs: []hooks.Func{{
		Name:      "Exit",
		Signature: "(code int)",
		Prologue:  "if __ottoolexec_exitHook != nil { __ottoolexec_exitHook(code) };",
	}},
	Files:   []hooks.File{{Name: "os.go", Content: injectOS}},
	Runtime: []string{runtimePackage},
}

// SignalRule lets the runtime flush on SIGINT/SIGTERM without taking
// those signals away from programs that handle them.
var SignalRule = &hooks.Rule{
	Name:    "signal",
	Doc:     "flush spans on SIGINT and SIGTERM",
	Package: "os/signal",
	Std:     true,
	Tested:  []string{"go1.26.8"},
	Core:    true,
	Funcs: []hooks.Func{{
		Name:      "Notify",
		Signature: "(c chan<- os.Signal, sig ...os.Signal)",
		// The hook gets a copy of sig: handing Notify's own variadic slice
		// to a function variable would make it escape, and every Notify
		// call would allocate even with the hook unset.
		Prologue: "if __ottoolexec_notifyHook != nil { __ottoolexec_notify(c, sig) };",
	}, {
		// process runs on os/signal's own goroutine for every signal a
		// Notify asked for; the runtime acts there, so it needs no
		// goroutine of its own (leak checkers in tests count those).
		Name:      "process",
		Signature: "(sig os.Signal)",
		Prologue:  "if __ottoolexec_signalHook != nil { __ottoolexec_signalHook(sig) };",
	}},
	Files:   []hooks.File{{Name: "signal.go", Content: injectSignal}},
	Runtime: []string{runtimePackage},
}
