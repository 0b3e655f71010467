// Package spanfile is the span record of ottoolexec's trace files: the
// JSON form traced programs append to OTTOOLEXEC_TRACE_FILE, reading it
// back (ReadJSONL), and the indented tree that shows it (WriteTree).
//
// It depends on the standard library only, so the ottoolexec command can
// read trace files without linking a tracer; runtime/export turns Jaeger
// spans into these records and writes them.
package spanfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
)

// Span is one finished span, detached from the tracer that made it.
//
// Its JSON form is one object with the fields trace_id, span_id, parent_id
// ("" for a root), operation, service, start (RFC 3339 with nanoseconds, UTC),
// duration_us (integer microseconds), tags (an object) and logs (an array of
// {"time", "fields"} objects, never null).
type Span struct {
	TraceID   string // lower-case hex, as jaeger prints it: 32 digits for a 128-bit id, else 16
	SpanID    string // 16 lower-case hex digits
	ParentID  string // "" when the span has no parent
	Operation string
	Service   string
	Start     time.Time
	Duration  time.Duration // jaeger measures in microseconds; JSON keeps microseconds

	// Tags hold only JSON-friendly values: bool, int64, uint64 (above
	// math.MaxInt64 only), float64 or string. See FromJaeger.
	Tags map[string]interface{}
	Logs []Log
}

// Log is one timestamped log record of a span.
type Log struct {
	Time   time.Time
	Fields map[string]interface{} // values as in Span.Tags
}

// spanJSON is Span's wire form; keeping it separate lets Span hold Go types
// (time.Duration) while the file holds what other tools read easily.
type spanJSON struct {
	TraceID    string                 `json:"trace_id"`
	SpanID     string                 `json:"span_id"`
	ParentID   string                 `json:"parent_id"`
	Operation  string                 `json:"operation"`
	Service    string                 `json:"service"`
	Start      time.Time              `json:"start"`
	DurationUS int64                  `json:"duration_us"`
	Tags       map[string]interface{} `json:"tags"`
	Logs       []logJSON              `json:"logs"`
}

type logJSON struct {
	Time   time.Time              `json:"time"`
	Fields map[string]interface{} `json:"fields"`
}

// MarshalJSON writes the wire form: UTC times, microsecond durations, and an
// empty object or array rather than null for missing tags and logs. It leaves
// HTML characters unescaped so URLs stay readable through an Encoder with
// SetEscapeHTML(false), as JSONL uses (json.Marshal escapes them again).
func (s Span) MarshalJSON() ([]byte, error) {
	w := spanJSON{
		TraceID:    s.TraceID,
		SpanID:     s.SpanID,
		ParentID:   s.ParentID,
		Operation:  s.Operation,
		Service:    s.Service,
		Start:      s.Start.UTC(),
		DurationUS: s.Duration.Microseconds(),
		Tags:       jsonSafeMap(s.Tags),
		Logs:       make([]logJSON, 0, len(s.Logs)),
	}
	for _, l := range s.Logs {
		w.Logs = append(w.Logs, logJSON{Time: l.Time.UTC(), Fields: jsonSafeMap(l.Fields)})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// UnmarshalJSON reads the wire form. Numbers come back as int64 when they are
// whole and fit, uint64 when they only fit unsigned, else float64, so a tag
// written as an integer reads back as the same integer.
func (s *Span) UnmarshalJSON(data []byte) error {
	var w spanJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	*s = Span{
		TraceID:   w.TraceID,
		SpanID:    w.SpanID,
		ParentID:  w.ParentID,
		Operation: w.Operation,
		Service:   w.Service,
		Start:     w.Start.UTC(),
		Duration:  time.Duration(w.DurationUS) * time.Microsecond,
		Tags:      numbersIn(w.Tags),
		Logs:      make([]Log, 0, len(w.Logs)),
	}
	for _, l := range w.Logs {
		s.Logs = append(s.Logs, Log{Time: l.Time.UTC(), Fields: numbersIn(l.Fields)})
	}
	return nil
}

// JSONValue converts a tag or log field value to what the JSON form keeps:
// bool, int64, uint64 (above math.MaxInt64 only), float64 or string.
func JSONValue(v interface{}) interface{} {
	return jsonValue(v)
}

// jsonValue maps a tag or log value onto what JSON can hold without loss of
// meaning: booleans stay booleans, numbers stay numbers (int64, uint64 only
// above MaxInt64, float64), everything else becomes its printed string.
// Stringers and errors print rather than expose their underlying number
// (a time.Duration reads better as "1.5s" than 1500000000).
func jsonValue(v interface{}) interface{} {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	case uint:
		return unsignedValue(uint64(x))
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return unsignedValue(x)
	case float32:
		return floatValue(float64(x))
	case float64:
		return floatValue(x)
	case json.Number:
		return numberValue(x)
	case error, fmt.Stringer, nil:
		return fmt.Sprint(x) // fmt recovers from a panicking String or Error
	}
	// Named basic types (type Kind string, type Code int) without String.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool()
	case reflect.String:
		return rv.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return unsignedValue(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return floatValue(rv.Float())
	}
	return fmt.Sprint(v)
}

func unsignedValue(u uint64) interface{} {
	if u <= math.MaxInt64 {
		return int64(u)
	}
	return u
}

// floatValue keeps finite floats; JSON has no NaN or infinity.
func floatValue(f float64) interface{} {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f)
	}
	return f
}

// numberValue turns a decoded JSON number into int64, uint64 or float64.
func numberValue(n json.Number) interface{} {
	if i, err := n.Int64(); err == nil {
		return i
	}
	if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
		return u
	}
	if f, err := n.Float64(); err == nil {
		return f
	}
	return string(n)
}

// jsonSafeMap returns m with every value passed through jsonValue, or an
// empty map for nil, so the encoder never fails on a value and never writes
// null where an object is promised.
func jsonSafeMap(m map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(m))
	for k, v := range m {
		out[k] = jsonValue(v)
	}
	return out
}

// numbersIn replaces the top-level json.Numbers of a freshly decoded map
// (tags and log fields are flat), returning an empty map for null.
func numbersIn(m map[string]interface{}) map[string]interface{} {
	if m == nil {
		return map[string]interface{}{}
	}
	for k, v := range m {
		if n, ok := v.(json.Number); ok {
			m[k] = numberValue(n)
		}
	}
	return m
}
