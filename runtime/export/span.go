// Package export turns finished Jaeger spans into the records of
// runtime/spanfile and writes them out: as JSON lines to a file (JSONL)
// and as indented trees to a terminal (Console).
//
// The package is linked into every program built with ottoolexec, so it keeps
// no global state, depends only on the standard library, opentracing-go and
// jaeger-client-go, and its reporters never block the span's caller for long.
package export

import (
	"io"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/log"
	"github.com/uber/jaeger-client-go"

	"github.com/ottoolexec/ottoolexec/runtime/spanfile"
)

// Span and Log are the records of a trace file (see runtime/spanfile).
type (
	Span = spanfile.Span
	Log  = spanfile.Log
)

// WriteTree writes spans as indented trace trees (see spanfile.WriteTree).
func WriteTree(w io.Writer, spans []Span) error { return spanfile.WriteTree(w, spans) }

// ReadJSONL reads a trace file (see spanfile.ReadJSONL).
func ReadJSONL(r io.Reader) ([]Span, error) { return spanfile.ReadJSONL(r) }

var jsonValue = spanfile.JSONValue

// FromJaeger copies a finished jaeger span into a Span. It takes the span's
// locks (through its accessors) and keeps no reference to it, so a reporter
// may call it in Report and hand the result to another goroutine while the
// tracer recycles the jaeger span.
func FromJaeger(js *jaeger.Span) Span {
	if js == nil {
		return Span{Tags: map[string]interface{}{}, Logs: []Log{}}
	}
	ctx := js.SpanContext()
	s := Span{
		TraceID:   ctx.TraceID().String(),
		SpanID:    ctx.SpanID().String(),
		Operation: js.OperationName(),
		Service:   serviceOf(js),
		Start:     js.StartTime().UTC(),
		Duration:  js.Duration(),
	}
	if p := ctx.ParentID(); p != 0 {
		s.ParentID = p.String()
	}
	tags := js.Tags()
	s.Tags = make(map[string]interface{}, len(tags))
	for k, v := range tags {
		s.Tags[k] = jsonValue(v)
	}
	logs := js.Logs()
	s.Logs = make([]Log, 0, len(logs))
	for _, rec := range logs {
		s.Logs = append(s.Logs, fromLogRecord(rec))
	}
	return s
}

// serviceOf reads the service name of the tracer that made js. The tracer
// keeps it unexported; BuildJaegerProcessThrift is its public accessor.
func serviceOf(js *jaeger.Span) string {
	if t, ok := js.Tracer().(*jaeger.Tracer); !ok || t == nil {
		return ""
	}
	if p := jaeger.BuildJaegerProcessThrift(js); p != nil {
		return p.ServiceName
	}
	return ""
}

func fromLogRecord(rec opentracing.LogRecord) Log {
	enc := fieldEncoder{}
	for _, f := range rec.Fields {
		f.Marshal(enc)
	}
	return Log{Time: rec.Timestamp.UTC(), Fields: map[string]interface{}(enc)}
}

// fieldEncoder collects opentracing log fields into a map of JSON-friendly
// values; going through Field.Marshal also expands lazy loggers.
type fieldEncoder map[string]interface{}

func (e fieldEncoder) EmitString(k, v string)             { e[k] = v }
func (e fieldEncoder) EmitBool(k string, v bool)          { e[k] = v }
func (e fieldEncoder) EmitInt(k string, v int)            { e[k] = int64(v) }
func (e fieldEncoder) EmitInt32(k string, v int32)        { e[k] = int64(v) }
func (e fieldEncoder) EmitInt64(k string, v int64)        { e[k] = v }
func (e fieldEncoder) EmitUint32(k string, v uint32)      { e[k] = int64(v) }
func (e fieldEncoder) EmitUint64(k string, v uint64)      { e[k] = jsonValue(v) }
func (e fieldEncoder) EmitFloat32(k string, v float32)    { e[k] = jsonValue(float64(v)) }
func (e fieldEncoder) EmitFloat64(k string, v float64)    { e[k] = jsonValue(v) }
func (e fieldEncoder) EmitObject(k string, v interface{}) { e[k] = jsonValue(v) }
func (e fieldEncoder) EmitLazyLogger(v log.LazyLogger) {
	if v != nil {
		v(e)
	}
}
