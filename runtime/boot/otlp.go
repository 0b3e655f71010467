package boot

import (
	"fmt"
	"io"
	"os"

	"github.com/opentracing/opentracing-go"
)

// OTLP export lives in its own package and module (runtime/otlp), linked
// into a program only when its build asked for it (OTTOOLEXEC_EXPORTERS=otlp
// in the go command's environment): it brings the OpenTelemetry SDK and
// gRPC along, several megabytes that most programs do not need. Boot knows
// the variables that ask for it, so that a program built without it can
// say so and fall back to the next tracer in order.
const (
	envOTLPEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envOTLPTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
)

// RebuildHint says how to build a program with the OTLP exporter.
const RebuildHint = "rebuild with OTTOOLEXEC_EXPORTERS=otlp in the go command's environment"

// otlpWanted returns the variable that asks for OTLP export, or "".
func otlpWanted(env lookupFunc) string {
	for _, key := range []string{envOTLPTracesEndpoint, envOTLPEndpoint} {
		if env.get(key) != "" {
			return key
		}
	}
	return ""
}

// A Destination is where a tracer that boot did not build itself sends its
// spans (the OTLP exporter). Flush closes it beside the others and reports
// what it lost the same way.
type Destination interface {
	// Close sends what is queued and stops. Flush bounds the wait: Close
	// may go on after Flush has given up and the program ended.
	Close()
	// Pending is how many finished spans are not yet out.
	Pending() int64
	// QueueDrops is how many spans were refused because a queue was full.
	QueueDrops() int64
	// Problems are lines (without the "ottoolexec: " prefix) to print at
	// flush about spans that went missing for other reasons.
	Problems() []string
}

// Settings is what boot gives the OTLP exporter to start with.
type Settings struct {
	// Service is the service name boot would use: OTTOOLEXEC_SERVICE_NAME,
	// else JAEGER_SERVICE_NAME, else the program's name. OTEL_SERVICE_NAME
	// and a service.name in OTEL_RESOURCE_ATTRIBUTES come before it.
	Service string
	// Version is the ottoolexec runtime's version, for a resource attribute.
	Version string
	// Stderr is where problems go, each line prefixed "ottoolexec: ".
	Stderr io.Writer
	// Getenv reads the environment.
	Getenv func(key string) (string, bool)
}

// StartFunc builds the OTLP tracer and the destination it reports to.
type StartFunc func(Settings) (opentracing.Tracer, Destination, error)

// otlpPending is set by init when the environment asks for OTLP export: the
// choice waits for the exporter's registration (UseOTLP) or, failing that,
// for InitDone. Only package initialisation, which runs on one goroutine,
// reads and writes it.
var otlpPending bool

// UseOTLP is called by the OTLP exporter's init, which runs after boot's:
// when the environment asks for OTLP and the program has not registered a
// tracer of its own, start is how the tracer is built.
func UseOTLP(start StartFunc) {
	if !otlpPending {
		return
	}
	otlpPending = false
	installed.Store(install(os.LookupEnv, defaultDeps(), start))
}

// InitDone is called by the file ottoolexec adds to the main package, from
// its init, so after every other package's. If OTLP export was asked for
// and no exporter registered, the program was built without it: say how to
// rebuild, and choose the next tracer in order (Jaeger, then the console).
func InitDone() {
	if !otlpPending {
		return
	}
	otlpPending = false
	installed.Store(install(os.LookupEnv, defaultDeps(), nil))
}

// startOTLP makes t export over OTLP when the environment asks for it and
// otlp is there to do it; false means go on with the next tracer in order.
func (t *tracing) startOTLP(env lookupFunc, otlp StartFunc, service string) bool {
	key := otlpWanted(env)
	if key == "" {
		return false
	}
	if otlp == nil {
		t.warn(fmt.Errorf("%s is set, but this program was built without the OTLP exporter: %s; "+
			"until then spans go to Jaeger (JAEGER_*) or the console", key, RebuildHint))
		return false
	}
	tracer, dest, err := otlp(Settings{Service: service, Version: version(), Stderr: t.stderr, Getenv: env})
	if err != nil {
		t.warn(fmt.Errorf("OTLP export (%s): %w; spans go to Jaeger (JAEGER_*) or the console instead", key, err))
		return false
	}
	t.tracer = tracer
	t.destinations = []Destination{dest}
	// The console and the trace file take spans of the Jaeger tracer only.
	if on, _, _ := env.flag(envConsole); on {
		t.warn(fmt.Errorf("%s=%s: no console trees while exporting over OTLP", envConsole, env.get(envConsole)))
	}
	if env.get(envTraceFile) != "" {
		t.warn(fmt.Errorf("%s is not written while exporting over OTLP", envTraceFile))
	}
	return true
}
