// Package boot chooses and installs the tracer of a program built with
// ottoolexec, and flushes it when the program ends.
//
// The injector adds a blank import of this package to every main package it
// builds and calls Flush when main returns, on os.Exit and on SIGINT or
// SIGTERM. The spliced hooks take opentracing.GlobalTracer() each time a span
// starts, so a program that installs its own tracer later simply wins.
//
// Everything is driven by the environment:
//
//	OTTOOLEXEC_DISABLED=1      do nothing (JAEGER_DISABLED=true too)
//	OTTOOLEXEC_SERVICE_NAME    service name, else JAEGER_SERVICE_NAME, else the program's name
//	JAEGER_ENDPOINT            send spans to a collector over HTTP (JAEGER_USER, JAEGER_PASSWORD)
//	JAEGER_AGENT_HOST/_PORT    send spans to an agent over UDP
//	JAEGER_SAMPLER_TYPE/_PARAM sampling; unset means every trace
//	OTTOOLEXEC_CONSOLE=0       no trees on stderr (the default when no JAEGER_* reporting variable is set)
//	OTTOOLEXEC_TRACE_FILE=path also append every span to this JSONL file
//	OTTOOLEXEC_FLUSH_TIMEOUT   how long Flush may wait, a Go duration (default 5s)
//	OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
//	                           export over OTLP instead, when the program was built
//	                           with the OTLP exporter (see otlp.go)
//
// The other JAEGER_* variables read by jaeger-client-go's config.FromEnv
// (JAEGER_TAGS, JAEGER_REPORTER_*, JAEGER_SAMPLING_ENDPOINT, ...) apply too.
//
// The tracer, in order: one the program registered itself; OTLP, when an
// OTEL_EXPORTER_OTLP_*ENDPOINT is set and the program was built with the
// exporter; Jaeger, when a JAEGER_* reporting variable is set; else a
// Jaeger tracer reporting to the console and the trace file. Every tracer
// sends W3C traceparent beside uber-trace-id and accepts either (w3c.go).
package boot

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/ottoolexec/ottoolexec/runtime/export"
	"github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/config"
	"github.com/uber/jaeger-client-go/transport"
)

// installed is what boot set up; nil when boot stayed out or has not
// chosen yet. It is stored during package initialisation (boot's init, the
// OTLP exporter's, the main package's) and read by Flush, which a signal
// may run at any time.
var installed atomic.Pointer[tracing]

func init() {
	env := lookupFunc(os.LookupEnv)
	if off, _ := disabled(env); !off && otlpWanted(env) != "" {
		// The OTLP exporter, when the build linked it, registers in its
		// own init, which runs after this one (it imports boot); InitDone
		// decides once every package is initialised.
		otlpPending = true
		return
	}
	installed.Store(install(env, defaultDeps(), nil))
}

// Tracer returns the tracer boot built and registered, or nil when boot is
// disabled or found a tracer already registered.
func Tracer() opentracing.Tracer {
	t := installed.Load()
	if t == nil {
		return nil
	}
	return t.tracer
}

// Flush sends or writes every finished span and stops the reporters. It
// waits at most OTTOOLEXEC_FLUSH_TIMEOUT (default 5s), then says on stderr
// how many spans may be lost and returns anyway. It also reports spans
// dropped on the way. Only the first call does this; calls made meanwhile
// wait for it, later calls return at once. Spans finished after Flush are
// not reported.
func Flush() {
	installed.Load().flush()
}

// install builds the tracer and makes it the global one, unless boot is
// disabled or the program registered a tracer before boot's init ran.
// otlp is the OTLP exporter when the program was built with it, else nil.
func install(env lookupFunc, d deps, otlp StartFunc) *tracing {
	if opentracing.IsGlobalTracerRegistered() {
		return nil
	}
	t := newTracing(env, d, otlp)
	if t != nil {
		opentracing.SetGlobalTracer(t.tracer)
	}
	return t
}

// deps are the outside things newTracing uses; tests replace them.
type deps struct {
	stderr       io.Writer
	args         []string                              // os.Args, for the service name
	roundTripper http.RoundTripper                     // under collector and sampling requests
	jaegerConfig func() (*config.Configuration, error) // config.FromEnv
}

func defaultDeps() deps {
	return deps{
		stderr:       os.Stderr,
		args:         os.Args,
		roundTripper: http.DefaultTransport,
		jaegerConfig: config.FromEnv,
	}
}

// tracing is one tracer with its reporters.
type tracing struct {
	tracer       opentracing.Tracer
	sampler      jaeger.Sampler
	sinks        []sink        // what the jaeger tracer reports to
	destinations []Destination // what another tracer (OTLP) reports to
	flushTimeout time.Duration
	stderr       io.Writer
	flushOnce    sync.Once

	// collectorTransport is the round tripper given to the HTTP collector
	// transport, kept so tests can see it is marked untraced.
	collectorTransport http.RoundTripper
}

// newTracing decides from env what to trace to and builds it; nil when boot
// is disabled. Problems with the settings are printed, one line each, and
// tracing goes on with defaults: a typo must not stop the program.
func newTracing(env lookupFunc, d deps, otlp StartFunc) *tracing {
	off, errs := disabled(env)
	if off {
		return nil
	}
	t := &tracing{stderr: d.stderr}
	for _, err := range errs {
		t.warn(err)
	}
	var err error
	if t.flushTimeout, err = flushTimeout(env); err != nil {
		t.warn(err)
	}
	service := serviceName(env, d.args)
	if t.startOTLP(env, otlp, service) {
		return t
	}

	toJaeger := jaegerWanted(env)
	cfg, err := d.jaegerConfig()
	if err != nil {
		cfg = nil
		if toJaeger {
			// Without settings there is nowhere to send to; the console
			// default applies instead.
			toJaeger = false
			t.warn(fmt.Errorf("JAEGER_* settings: %w; not reporting to jaeger", err))
		} else {
			t.warn(fmt.Errorf("JAEGER_* settings: %w", err))
		}
	}

	var console *export.Console
	consoleOn, set, err := env.flag(envConsole)
	if err != nil {
		t.warn(err)
	}
	if !set {
		consoleOn = !toJaeger
	}
	if consoleOn {
		console = export.NewConsole(d.stderr)
		t.sinks = append(t.sinks, consoleSink{console})
	}
	if toJaeger {
		t.sinks = append(t.sinks, t.remoteSink(cfg, d))
	}
	if path := env.get(envTraceFile); path != "" {
		if file, err := export.NewJSONL(path); err != nil {
			t.warn(fmt.Errorf("%s: %w", envTraceFile, err))
		} else {
			t.sinks = append(t.sinks, jsonlSink{file})
		}
	}

	t.sampler = t.newSampler(cfg, service, d)
	opts := []jaeger.TracerOption{
		jaeger.TracerOptions.Gen128Bit(true),
		jaeger.TracerOptions.Tag("ottoolexec.version", version()),
	}
	opts = append(opts, w3cOptions()...)
	if cfg != nil {
		for _, tag := range cfg.Tags { // JAEGER_TAGS
			opts = append(opts, jaeger.TracerOptions.Tag(tag.Key, tag.Value))
		}
	}
	if console != nil {
		// The console tells a request's local root by the spans it saw start.
		opts = append(opts, jaeger.TracerOptions.ContribObserver(console))
	}
	// The tracer's own Close is never called: Flush closes the sinks side by
	// side, so one stuck destination does not hold back the others.
	t.tracer, _ = jaeger.NewTracer(service, t.sampler, t.reporter(), opts...)
	return t
}

// reporter is what the tracer reports to: the sinks, through jaeger's
// composite reporter when there are several.
func (t *tracing) reporter() jaeger.Reporter {
	switch len(t.sinks) {
	case 0:
		// Nothing records spans, but the tracer still carries trace context
		// across this process to the services it calls.
		return jaeger.NewNullReporter()
	case 1:
		return t.sinks[0]
	}
	reporters := make([]jaeger.Reporter, len(t.sinks))
	for i, s := range t.sinks {
		reporters[i] = s
	}
	return jaeger.NewCompositeReporter(reporters...)
}

// defaultQueueSize replaces jaeger's 100 when JAEGER_REPORTER_MAX_QUEUE_SIZE
// is unset: a traced HTTP handler with a few queries makes a handful of
// spans per request, and a burst should not be dropped.
const defaultQueueSize = 1000

// remoteSink builds the reporter to a collector (JAEGER_ENDPOINT) or an
// agent. Only the settings come from config.FromEnv: the reporter is built
// here so its HTTP requests go through an untraced transport.
func (t *tracing) remoteSink(cfg *config.Configuration, d deps) *remoteSink {
	rc := cfg.Reporter
	if rc == nil {
		rc = &config.ReporterConfig{}
	}
	queue := rc.QueueSize
	if queue <= 0 {
		queue = defaultQueueSize
	}
	opts := []jaeger.ReporterOption{
		jaeger.ReporterOptions.QueueSize(queue),
		jaeger.ReporterOptions.BufferFlushInterval(rc.BufferFlushInterval),
	}
	if rc.CollectorEndpoint != "" {
		log := NewErrorLog(t.stderr, envJaegerEndpoint+" "+rc.CollectorEndpoint)
		t.collectorTransport = Untraced(d.roundTripper)
		httpOpts := []transport.HTTPOption{transport.HTTPRoundTripper(t.collectorTransport)}
		if rc.User != "" || rc.Password != "" {
			httpOpts = append(httpOpts, transport.HTTPBasicAuth(rc.User, rc.Password))
		}
		if len(rc.HTTPHeaders) > 0 {
			httpOpts = append(httpOpts, transport.HTTPHeaders(rc.HTTPHeaders))
		}
		return newRemoteSink(transport.NewHTTPTransport(rc.CollectorEndpoint, httpOpts...), log, opts...)
	}
	agent := rc.LocalAgentHostPort
	if agent == "" {
		agent = fmt.Sprintf("%s:%d", jaeger.DefaultUDPSpanServerHost, jaeger.DefaultUDPSpanServerPort)
	}
	log := NewErrorLog(t.stderr, "jaeger agent "+agent)
	udp := &lazyUDP{params: jaeger.UDPTransportParams{}}
	udp.params.HostPort = agent
	udp.params.Logger = log
	udp.params.DisableAttemptReconnecting = rc.DisableAttemptReconnecting
	udp.params.AttemptReconnectInterval = rc.AttemptReconnectInterval
	return newRemoteSink(udp, log, opts...)
}

// newSampler samples every trace unless JAEGER_SAMPLER_TYPE says otherwise.
// jaeger's own default is a remote sampler polling an agent on localhost,
// which is not there in most places ottoolexec runs; when the user does ask
// for "remote", its polls go through an untraced client.
func (t *tracing) newSampler(cfg *config.Configuration, service string, d deps) jaeger.Sampler {
	if cfg == nil || cfg.Sampler == nil || cfg.Sampler.Type == "" {
		return jaeger.NewConstSampler(true)
	}
	sc := *cfg.Sampler
	if sc.Type == jaeger.SamplerTypeRemote {
		url := sc.SamplingServerURL
		if url == "" {
			url = jaeger.DefaultSamplingServerURL
		}
		sc.Options = append(sc.Options,
			jaeger.SamplerOptions.SamplingStrategyFetcher(newStrategyFetcher(url, d.roundTripper)),
			jaeger.SamplerOptions.Logger(NewErrorLog(t.stderr, "sampling strategy from "+url)),
		)
	}
	s, err := sc.NewSampler(service, jaeger.NewNullMetrics())
	if err != nil {
		t.warn(fmt.Errorf("JAEGER_SAMPLER_TYPE=%s: %w; sampling every trace", sc.Type, err))
		return jaeger.NewConstSampler(true)
	}
	return s
}

func (t *tracing) warn(err error) {
	fmt.Fprintf(t.stderr, "ottoolexec: %v\n", err)
}

// version names the ottoolexec runtime linked into the program, for a tracer
// tag: the module version when built from a release, "(devel)" otherwise.
func version() string {
	const module = "github.com/ottoolexec/ottoolexec"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := ""
	if info.Main.Path == module {
		v = info.Main.Version
	}
	for _, dep := range info.Deps {
		if dep.Path == module {
			v = dep.Version
			if dep.Replace != nil {
				v = dep.Replace.Version
			}
		}
	}
	if v == "" {
		return "(devel)"
	}
	return v
}
