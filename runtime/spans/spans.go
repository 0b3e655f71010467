// Package spans holds what every integration's runtime half shares: the
// tracer lookup, the tag conventions, and the guard that keeps a fault in
// tracing code from ever reaching the traced program.
package spans

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/opentracing/opentracing-go"
)

// Tracer returns the tracer spans start on: the global one, read at every
// span start, so a program that registers its own tracer (even after
// start-up) gets every span.
func Tracer() opentracing.Tracer {
	return opentracing.GlobalTracer()
}

// Disabled reports whether OTTOOLEXEC_DISABLED (or jaeger's own
// JAEGER_DISABLED) asks for a traced binary to behave exactly like a plain
// one. Hooks check it once, at init, and then stay uninstalled. It reads
// the variables as runtime/boot does.
func Disabled() bool {
	return EnvFlag("OTTOOLEXEC_DISABLED") || EnvFlag("JAEGER_DISABLED")
}

// EnvFlag reports whether the environment variable key says yes: 1, t,
// true, on, yes or y, in any case and with blanks around it, the words
// runtime/boot accepts.
func EnvFlag(key string) bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(key))) {
	case "1", "t", "true", "on", "yes", "y":
		return true
	}
	return false
}

var (
	panics     atomic.Int64
	reportOnce sync.Once
)

// Guard recovers a panic raised by tracing code, counts it and reports the
// first one on stderr. Use it as the first deferred call of every hook
// function: `defer spans.Guard("net/http client")`. It must be deferred
// directly, since recover only works in the deferred function itself.
func Guard(where string) {
	if r := recover(); r != nil {
		Recovered(where, r)
	}
}

// Recovered counts a panic that tracing code recovered itself (for
// deferred functions that must also repair their results) and reports the
// first one.
func Recovered(where string, r any) {
	panics.Add(1)
	reportOnce.Do(func() {
		fmt.Fprintf(os.Stderr, "ottoolexec: recovered a panic in the %s hook (tracing continues; please report it): %v\n", where, r)
	})
}

// Panics returns how many panics Guard has recovered.
func Panics() int64 {
	return panics.Load()
}

// ListEnv reads a comma-separated list from the environment variable key,
// without empty items.
func ListEnv(key string) []string {
	var out []string
	for _, item := range strings.Split(os.Getenv(key), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
