// Package trace is the runtime half of the process integration: it flushes
// finished spans when the program exits through os.Exit or is stopped by
// SIGINT or SIGTERM.
package trace

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
	_ "unsafe" // for go:linkname

	"github.com/ottoolexec/ottoolexec/runtime/boot"
	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

// The variables are declared in os and os/signal by the files the process
// rules add (hooks/process/inject_*.go.txt).

//go:linkname exitHook os.__ottoolexec_exitHook
var exitHook func(code int)

//go:linkname notifyHook os/signal.__ottoolexec_notifyHook
var notifyHook func(c chan<- os.Signal, sig []os.Signal)

//go:linkname signalHook os/signal.__ottoolexec_signalHook
var signalHook func(sig os.Signal)

var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM}

var (
	mu      sync.Mutex
	ours    = make(chan os.Signal, 1) // never read: signals reach us through signalHook
	handled = map[os.Signal]bool{}    // signals the program asked for itself
	all     bool                      // the program asked for every signal
)

func init() {
	if spans.Disabled() {
		return
	}
	exitHook = func(int) { boot.Flush() }
	notifyHook = noteNotify
	signalHook = onSignal

	var watch []os.Signal
	for _, sig := range stopSignals {
		// A program started with a signal ignored (nohup, a background
		// job) must keep ignoring it; Notify would undo that.
		if !signal.Ignored(sig) {
			watch = append(watch, sig)
		}
	}
	if len(watch) > 0 {
		signal.Notify(ours, watch...)
	}
}

// noteNotify records the signals the program itself subscribes to.
func noteNotify(c chan<- os.Signal, sig []os.Signal) {
	if c == (chan<- os.Signal)(ours) {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sig) == 0 {
		all = true
	}
	for _, s := range sig {
		handled[s] = true
	}
}

// onSignal runs on os/signal's goroutine before the signal is delivered.
func onSignal(sig os.Signal) {
	defer spans.Guard("signal")
	isStop := false
	for _, s := range stopSignals {
		isStop = isStop || s == sig
	}
	mu.Lock()
	theirs := all || handled[sig]
	mu.Unlock()
	if !isStop || theirs {
		// The program shuts down its own way; its spans are flushed when
		// it exits.
		return
	}
	boot.Flush()
	// Nobody else wanted the signal: let it do what it would have done
	// without ottoolexec.
	signal.Reset(sig)
	raise(sig)
}
