package boot

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Environment variables boot reads itself. The JAEGER_* settings beyond
// these are read by jaeger-client-go's config.FromEnv.
const (
	envDisabled     = "OTTOOLEXEC_DISABLED"      // 1: do nothing at all
	envServiceName  = "OTTOOLEXEC_SERVICE_NAME"  // service name, before JAEGER_SERVICE_NAME
	envConsole      = "OTTOOLEXEC_CONSOLE"       // 0: no trees on stderr; 1: trees even when reporting to jaeger
	envTraceFile    = "OTTOOLEXEC_TRACE_FILE"    // also append spans to this JSONL file
	envFlushTimeout = "OTTOOLEXEC_FLUSH_TIMEOUT" // how long Flush may wait, a Go duration

	envJaegerServiceName = "JAEGER_SERVICE_NAME"
	envJaegerDisabled    = "JAEGER_DISABLED"
	envJaegerEndpoint    = "JAEGER_ENDPOINT"
	envJaegerAgentHost   = "JAEGER_AGENT_HOST"
	envJaegerAgentPort   = "JAEGER_AGENT_PORT"
)

// jaegerReportingVars are the variables that say "send spans to Jaeger";
// any one of them set switches the console default off.
var jaegerReportingVars = []string{envJaegerEndpoint, envJaegerAgentHost, envJaegerAgentPort}

const defaultFlushTimeout = 5 * time.Second

// lookupFunc has os.LookupEnv's shape; tests pass a map's lookup instead.
type lookupFunc func(key string) (string, bool)

// get returns the value of key with surrounding blanks removed; a variable
// set to "" counts as unset.
func (env lookupFunc) get(key string) string {
	v, _ := env(key)
	return strings.TrimSpace(v)
}

// flag reads a yes/no variable. ok is false when the variable is unset; err
// is set when it holds something that is neither.
func (env lookupFunc) flag(key string) (value, ok bool, err error) {
	v := env.get(key)
	if v == "" {
		return false, false, nil
	}
	lower := strings.ToLower(v)
	switch lower {
	case "on", "yes", "y":
		return true, true, nil
	case "off", "no", "n":
		return false, true, nil
	}
	b, perr := strconv.ParseBool(lower)
	if perr != nil {
		return false, false, fmt.Errorf("%s=%q is neither true nor false", key, v)
	}
	return b, true, nil
}

// disabled reports whether boot must stay out of the program entirely:
// OTTOOLEXEC_DISABLED, or jaeger's own JAEGER_DISABLED, is true.
func disabled(env lookupFunc) (bool, []error) {
	var errs []error
	for _, key := range []string{envDisabled, envJaegerDisabled} {
		v, _, err := env.flag(key)
		if err != nil {
			errs = append(errs, err)
		}
		if v {
			return true, nil
		}
	}
	return false, errs
}

// jaegerWanted reports whether a JAEGER_* reporting variable is set.
func jaegerWanted(env lookupFunc) bool {
	for _, key := range jaegerReportingVars {
		if env.get(key) != "" {
			return true
		}
	}
	return false
}

// serviceName picks the name spans are reported under: the ottoolexec
// variable, then jaeger's, then the program's file name (without .exe; a
// test binary keeps its .test so it is told apart from the program).
func serviceName(env lookupFunc, args []string) string {
	for _, key := range []string{envServiceName, envJaegerServiceName} {
		if v := env.get(key); v != "" {
			return v
		}
	}
	if len(args) > 0 && args[0] != "" {
		name := filepath.Base(args[0])
		if len(name) > 4 && strings.EqualFold(name[len(name)-4:], ".exe") {
			name = name[:len(name)-4]
		}
		if name != "" && name != "." && name != string(filepath.Separator) {
			return name
		}
	}
	return "unknown_service"
}

// flushTimeout reads OTTOOLEXEC_FLUSH_TIMEOUT, falling back to the default
// (with an error to print) when it is not a positive Go duration.
func flushTimeout(env lookupFunc) (time.Duration, error) {
	v := env.get(envFlushTimeout)
	if v == "" {
		return defaultFlushTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return defaultFlushTimeout, fmt.Errorf("%s: %w; using %s", envFlushTimeout, err, defaultFlushTimeout)
	}
	if d <= 0 {
		return defaultFlushTimeout, fmt.Errorf("%s=%q is not positive; using %s", envFlushTimeout, v, defaultFlushTimeout)
	}
	return d, nil
}
