package otlp

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// jaegerHeader is Jaeger's trace context header, which programs reporting
// to Jaeger (and ottoolexec's own Jaeger tracer) send and read.
const jaegerHeader = "uber-trace-id"

// jaegerPropagator carries the span context in Jaeger's uber-trace-id
// header, {trace-id}:{span-id}:{parent-span-id}:{flags} in hex, so that an
// OTLP-exporting program continues the traces of Jaeger-reporting ones and
// the other way round. Baggage travels in W3C's baggage header only.
type jaegerPropagator struct{}

var _ propagation.TextMapPropagator = jaegerPropagator{}

// Inject implements propagation.TextMapPropagator.
func (jaegerPropagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	flags := 0
	if sc.IsSampled() {
		flags = 1
	}
	carrier.Set(jaegerHeader, fmt.Sprintf("%s:%s:0:%x", sc.TraceID(), sc.SpanID(), flags))
}

// Extract implements propagation.TextMapPropagator. A header that does not
// parse is ignored: the request starts a new trace.
func (jaegerPropagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	sc, ok := parseJaeger(carrier.Get(jaegerHeader))
	if !ok {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// Fields implements propagation.TextMapPropagator.
func (jaegerPropagator) Fields() []string { return []string{jaegerHeader} }

// parseJaeger reads an uber-trace-id value. Jaeger writes the ids without
// leading zeros and a trace id of 64 or 128 bits; URL encoding of the
// colons (%3A) is accepted, as Jaeger's own clients do.
func parseJaeger(v string) (trace.SpanContext, bool) {
	v = strings.ReplaceAll(v, "%3A", ":")
	parts := strings.Split(v, ":")
	if len(parts) != 4 {
		return trace.SpanContext{}, false
	}
	var tid trace.TraceID
	var sid trace.SpanID
	if !hexID(parts[0], tid[:]) || !hexID(parts[1], sid[:]) {
		return trace.SpanContext{}, false
	}
	flags, err := strconv.ParseUint(parts[3], 16, 8)
	if err != nil {
		return trace.SpanContext{}, false
	}
	cfg := trace.SpanContextConfig{TraceID: tid, SpanID: sid, Remote: true}
	if flags&1 != 0 {
		cfg.TraceFlags = trace.FlagsSampled
	}
	sc := trace.NewSpanContext(cfg)
	return sc, sc.IsValid()
}

// hexID decodes s, hex without leading zeros, into id, right-aligned.
func hexID(s string, id []byte) bool {
	if s == "" || len(s) > 2*len(id) {
		return false
	}
	if len(s)%2 == 1 {
		s = "0" + s
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return false
	}
	copy(id[len(id)-len(b):], b)
	return true
}
