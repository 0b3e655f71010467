package boot

import (
	"encoding/hex"
	"errors"
	"strings"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
)

// traceparentHeader is the W3C Trace Context header.
const traceparentHeader = "traceparent"

// w3cPropagator is the Jaeger tracer's propagator for HTTP headers and text
// maps: Jaeger's own (uber-trace-id, uberctx-* baggage), plus a W3C
// traceparent on the way out, and a traceparent accepted on the way in
// when no uber-trace-id came. So a program reporting to Jaeger continues
// the traces of OpenTelemetry-instrumented callers (an OTLP-exporting
// ottoolexec program sends both headers too), and its callees see either.
type w3cPropagator struct {
	jaeger *jaeger.TextMapPropagator
}

// w3cOptions are the tracer options that install the propagator for both
// formats the hooks use.
func w3cOptions() []jaeger.TracerOption {
	headers := (&jaeger.HeadersConfig{}).ApplyDefaults()
	metrics := *jaeger.NewNullMetrics()
	httpProp := w3cPropagator{jaeger.NewHTTPHeaderPropagator(headers, metrics)}
	textProp := w3cPropagator{jaeger.NewTextMapPropagator(headers, metrics)}
	return []jaeger.TracerOption{
		jaeger.TracerOptions.Injector(opentracing.HTTPHeaders, httpProp),
		jaeger.TracerOptions.Extractor(opentracing.HTTPHeaders, httpProp),
		jaeger.TracerOptions.Injector(opentracing.TextMap, textProp),
		jaeger.TracerOptions.Extractor(opentracing.TextMap, textProp),
	}
}

// Inject implements jaeger.Injector.
func (p w3cPropagator) Inject(sc jaeger.SpanContext, carrier interface{}) error {
	if err := p.jaeger.Inject(sc, carrier); err != nil {
		return err
	}
	w, ok := carrier.(opentracing.TextMapWriter)
	if !ok {
		return opentracing.ErrInvalidCarrier
	}
	if sc.TraceID().IsValid() && sc.SpanID() != 0 {
		w.Set(traceparentHeader, traceparent(sc))
	}
	return nil
}

// traceparent formats sc as a version 00 traceparent value. It runs on
// every request and message sent, so it writes the hex digits itself: one
// allocation, the string, where fmt.Sprintf made five.
func traceparent(sc jaeger.SpanContext) string {
	var b [55]byte // 00-<32 hex>-<16 hex>-<2 hex>
	tid := sc.TraceID()
	copy(b[:3], "00-")
	putHex(b[3:19], tid.High)
	putHex(b[19:35], tid.Low)
	b[35] = '-'
	putHex(b[36:52], uint64(sc.SpanID()))
	copy(b[52:], "-00")
	if sc.IsSampled() {
		b[54] = '1'
	}
	return string(b[:])
}

// putHex writes v into dst as 16 lower-case hex digits.
func putHex(dst []byte, v uint64) {
	const digits = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		dst[i] = digits[v&0xf]
		v >>= 4
	}
}

// Extract implements jaeger.Extractor.
func (p w3cPropagator) Extract(carrier interface{}) (jaeger.SpanContext, error) {
	sc, err := p.jaeger.Extract(carrier)
	if !errors.Is(err, opentracing.ErrSpanContextNotFound) {
		return sc, err
	}
	r, ok := carrier.(opentracing.TextMapReader)
	if !ok {
		return sc, err
	}
	var value string
	_ = r.ForeachKey(func(k, v string) error {
		if strings.EqualFold(k, traceparentHeader) {
			value = v
		}
		return nil
	})
	if value == "" {
		return sc, err
	}
	if parsed, ok := parseTraceparent(value); ok {
		return parsed, nil
	}
	// A malformed header starts a new trace, as a bad uber-trace-id does.
	return jaeger.SpanContext{}, opentracing.ErrSpanContextCorrupted
}

// parseTraceparent reads version-format-trace_id-parent_id-flags. Versions
// after 00 may append fields; version ff and all-zero ids are invalid.
func parseTraceparent(v string) (jaeger.SpanContext, bool) {
	parts := strings.Split(strings.TrimSpace(v), "-")
	if len(parts) < 4 || len(parts[0]) != 2 || parts[0] == "ff" || parts[0] == "00" && len(parts) != 4 ||
		len(parts[1]) != 32 || len(parts[2]) != 16 || len(parts[3]) != 2 {
		return jaeger.SpanContext{}, false
	}
	var raw [8 + 8 + 8 + 1]byte
	for i, part := range []string{parts[1], parts[2], parts[3]} {
		if strings.ToLower(part) != part {
			return jaeger.SpanContext{}, false // the spec allows lower case hex only
		}
		if _, err := hex.Decode(raw[[]int{0, 16, 24}[i]:], []byte(part)); err != nil {
			return jaeger.SpanContext{}, false
		}
	}
	be := func(b []byte) uint64 {
		var n uint64
		for _, c := range b {
			n = n<<8 | uint64(c)
		}
		return n
	}
	tid := jaeger.TraceID{High: be(raw[0:8]), Low: be(raw[8:16])}
	sid := jaeger.SpanID(be(raw[16:24]))
	if !tid.IsValid() || sid == 0 {
		return jaeger.SpanContext{}, false
	}
	return jaeger.NewSpanContext(tid, sid, 0, raw[24]&1 != 0, nil), true
}
