// Package handtracer builds the tracer of the benchmarks' hand-instrumented
// programs: the tracer ottoolexec's runtime builds when no JAEGER_*
// variable is set and the console is off. That is jaeger-client-go with a
// const sampler, 128-bit trace ids, and trace context sent as Jaeger's
// uber-trace-id plus a W3C traceparent (runtime/boot/w3c.go), so that a
// hand-instrumented call and an injected one put the same headers on the
// wire, and a benchmark compares the instrumentation, not the tracer.
//
// The traceparent is written the way a careful user would write it for a
// hot path: into a fixed buffer, with one allocation for the string.
package handtracer

import (
	"encoding/hex"
	"io"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
)

// New returns the tracer for service, reporting to reporter, and its
// closer.
func New(service string, reporter jaeger.Reporter) (opentracing.Tracer, io.Closer) {
	headers := (&jaeger.HeadersConfig{}).ApplyDefaults()
	metrics := *jaeger.NewNullMetrics()
	httpProp := withTraceparent{jaeger.NewHTTPHeaderPropagator(headers, metrics)}
	textProp := withTraceparent{jaeger.NewTextMapPropagator(headers, metrics)}
	return jaeger.NewTracer(service, jaeger.NewConstSampler(true), reporter,
		jaeger.TracerOptions.Gen128Bit(true),
		jaeger.TracerOptions.Injector(opentracing.HTTPHeaders, httpProp),
		jaeger.TracerOptions.Extractor(opentracing.HTTPHeaders, httpProp),
		jaeger.TracerOptions.Injector(opentracing.TextMap, textProp),
		jaeger.TracerOptions.Extractor(opentracing.TextMap, textProp))
}

// withTraceparent is Jaeger's propagator plus a W3C traceparent on the way
// out. On the way in Jaeger's header is enough: every caller in the
// benchmarks sends it.
type withTraceparent struct {
	*jaeger.TextMapPropagator
}

func (p withTraceparent) Inject(sc jaeger.SpanContext, carrier any) error {
	if err := p.TextMapPropagator.Inject(sc, carrier); err != nil {
		return err
	}
	w, ok := carrier.(opentracing.TextMapWriter)
	if !ok {
		return opentracing.ErrInvalidCarrier
	}
	var ids [25]byte // trace id high, low, span id, flags
	put := func(b []byte, v uint64) {
		for i := 7; i >= 0; i-- {
			b[i] = byte(v)
			v >>= 8
		}
	}
	put(ids[0:8], sc.TraceID().High)
	put(ids[8:16], sc.TraceID().Low)
	put(ids[16:24], uint64(sc.SpanID()))
	if sc.IsSampled() {
		ids[24] = 1
	}
	var v [55]byte
	copy(v[0:], "00-")
	hex.Encode(v[3:35], ids[0:16])
	v[35] = '-'
	hex.Encode(v[36:52], ids[16:24])
	v[52] = '-'
	hex.Encode(v[53:55], ids[24:25])
	w.Set("traceparent", string(v[:]))
	return nil
}
