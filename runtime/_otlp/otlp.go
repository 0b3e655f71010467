// Package otlp exports a traced program's spans over OTLP, to an
// OpenTelemetry collector or any backend that speaks it (Jaeger v2 does),
// through the OpenTelemetry OpenTracing bridge.
//
// The injector links it only into programs built with
// OTTOOLEXEC_EXPORTERS=otlp: the OpenTelemetry SDK, the OTLP exporters and
// gRPC add several megabytes to a binary. It is a module of its own for the
// same reason: its requirements enter a build's module graph only then.
//
// Its init hands boot a way to start it (boot.UseOTLP); boot uses it when
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set
// and the program registered no tracer of its own. The exporters read the
// standard OTEL_EXPORTER_OTLP_* variables themselves (endpoint, headers,
// timeout, compression, certificates, insecure); the protocol is
// http/protobuf unless OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or
// OTEL_EXPORTER_OTLP_PROTOCOL says grpc. OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES describe the resource, OTEL_TRACES_SAMPLER the
// sampling (every trace by default), OTEL_BSP_MAX_QUEUE_SIZE,
// OTEL_BSP_MAX_EXPORT_BATCH_SIZE and OTEL_BSP_SCHEDULE_DELAY the queue.
//
// Trace context goes out in both W3C traceparent (and baggage) and Jaeger's
// uber-trace-id headers, and either is accepted on the way in, so OTLP and
// Jaeger-reporting programs continue each other's traces.
package otlp

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/opentracing/opentracing-go"
	"go.opentelemetry.io/otel/attribute"
	otelbridge "go.opentelemetry.io/otel/bridge/opentracing"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ottoolexec/ottoolexec/runtime/boot"
)

func init() {
	boot.UseOTLP(start)
}

// instrumentationName names the tracer the spans come from.
const instrumentationName = "github.com/ottoolexec/ottoolexec"

// start builds the exporter, the SDK tracer provider and the bridge.
func start(s boot.Settings) (opentracing.Tracer, boot.Destination, error) {
	env := lookup(s.Getenv)
	protocol, endpointKey := protocolOf(env)
	exp, err := newExporter(protocol)
	if err != nil {
		return nil, nil, err
	}
	res, err := newResource(s)
	if err != nil {
		// A malformed OTEL_RESOURCE_ATTRIBUTES still leaves a usable
		// resource; the exporter goes on with it.
		fmt.Fprintf(s.Stderr, "ottoolexec: OTLP resource: %v\n", err)
	}
	what := fmt.Sprintf("OTLP %s %s", protocol, env.get(endpointKey))
	proc := newProcessor(exp, newErrorLog(s.Stderr, what), queueSettings(env, s.Stderr))
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSpanProcessor(proc),
	)
	bridge, wrapper := otelbridge.NewTracerPair(provider.Tracer(instrumentationName))
	_ = wrapper // the bridge tracer already starts spans through it
	bridge.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		jaegerPropagator{},
		propagation.TraceContext{}, // last: traceparent wins over uber-trace-id
		propagation.Baggage{},
	))
	bridge.SetWarningHandler(proc.log.warning)
	return bridge, &destination{proc: proc, provider: provider}, nil
}

// protocolOf returns the OTLP protocol the environment asks for and the
// variable holding the endpoint, for messages.
func protocolOf(env lookup) (protocol, endpointKey string) {
	protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	endpointKey = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	if env.get(endpointKey) == "" {
		endpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT"
	}
	if protocol == "" {
		protocol = "http/protobuf"
	}
	return protocol, endpointKey
}

// newExporter builds the OTLP exporter for protocol. The exporters read
// their endpoint and options from the environment. The HTTP exporter's
// requests go through an untraced transport, or each export would make
// spans to export; gRPC does not use net/http's client, so no hook sees it.
func newExporter(protocol string) (sdktrace.SpanExporter, error) {
	ctx := context.Background()
	switch protocol {
	case "grpc":
		exp, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("OTLP gRPC exporter: %w", err)
		}
		return exp, nil
	case "http/protobuf":
		client := &http.Client{Transport: boot.Untraced(nil)}
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithHTTPClient(client))
		if err != nil {
			return nil, fmt.Errorf("OTLP HTTP exporter: %w", err)
		}
		return exp, nil
	}
	return nil, fmt.Errorf("OTLP protocol %q is not supported: use grpc or http/protobuf", protocol)
}

// newResource describes the program: the service name boot chose, unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name another; the
// attributes of OTEL_RESOURCE_ATTRIBUTES; the SDK; ottoolexec's version.
func newResource(s boot.Settings) (*resource.Resource, error) {
	return resource.New(context.Background(),
		resource.WithAttributes(
			attribute.String("service.name", s.Service),
			attribute.String("ottoolexec.version", s.Version),
		),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // last: the environment wins
	)
}

// destination is what boot's Flush closes and asks about losses.
type destination struct {
	proc     *processor
	provider *sdktrace.TracerProvider
}

func (d *destination) Close() {
	d.proc.close()
	// The provider's shutdown only calls the processor's, which is done.
	_ = d.provider.Shutdown(context.Background())
}

func (d *destination) Pending() int64    { return d.proc.pending() }
func (d *destination) QueueDrops() int64 { return d.proc.dropped.Load() }
func (d *destination) Problems() []string {
	if n := d.proc.failed.Load(); n > 0 {
		return []string{d.proc.log.NotSent(n)}
	}
	return nil
}

// lookup reads the environment the way boot does: blanks around a value
// removed, a variable set to "" unset.
type lookup func(key string) (string, bool)

func (env lookup) get(key string) string {
	v, _ := env(key)
	return strings.TrimSpace(v)
}
