package jaegertest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TraceLimit is the most traces Traces asks the query API for.
const TraceLimit = 5000

// Trace is one trace as the query API returns it.
type Trace struct {
	TraceID string
	Spans   []Span
}

// Span is one span of a Trace, with its process resolved.
type Span struct {
	TraceID       string
	SpanID        string
	OperationName string
	// ParentSpanID is the span ID of the first CHILD_OF reference, or of
	// the first reference if there is no CHILD_OF; "" for a root span.
	ParentSpanID string
	References   []Reference
	ServiceName  string
	StartTime    time.Time
	Duration     time.Duration
	// Tags maps tag keys to values typed by the tag's type: string, bool,
	// int64, float64 or []byte.
	Tags        map[string]any
	Logs        []Log
	ProcessTags map[string]any
}

// Reference is a span reference; Type is "CHILD_OF" or "FOLLOWS_FROM".
type Reference struct {
	Type    string
	TraceID string
	SpanID  string
}

// Log is a span log record.
type Log struct {
	Timestamp time.Time
	Fields    map[string]any
}

// Spans returns the spans of traces whose process service name is service.
func Spans(traces []Trace, service string) []Span {
	var out []Span
	for _, t := range traces {
		for _, sp := range t.Spans {
			if sp.ServiceName == service {
				out = append(out, sp)
			}
		}
	}
	return out
}

// Traces returns the traces (up to TraceLimit, from the last two days)
// that have a span of service, read from the query API's /api/traces.
func (s *Server) Traces(ctx context.Context, service string) ([]Trace, error) {
	now := time.Now()
	q := url.Values{
		"service": {service},
		"limit":   {strconv.Itoa(TraceLimit)},
		"start":   {strconv.FormatInt(now.Add(-48*time.Hour).UnixMicro(), 10)},
		"end":     {strconv.FormatInt(now.Add(time.Hour).UnixMicro(), 10)},
	}
	u := s.QueryURL + "/api/traces?" + q.Encode()
	body, err := get(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("jaegertest: traces: %w", err)
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("jaegertest: traces: decoding GET %s: %w", u, err)
	}
	if len(r.Errors) > 0 {
		return nil, fmt.Errorf("jaegertest: traces: GET %s: %s", u, r.Errors[0].Msg)
	}
	traces := make([]Trace, 0, len(r.Data))
	for _, at := range r.Data {
		t, err := at.convert()
		if err != nil {
			return nil, fmt.Errorf("jaegertest: traces: trace %s: %w", at.TraceID, err)
		}
		traces = append(traces, t)
	}
	return traces, nil
}

// WaitForSpans polls Traces until at least n spans of service are visible
// and returns those traces. Jaeger stores spans asynchronously, so call it
// rather than Traces right after sending. If ctx ends first it returns the
// traces it last saw with an error saying how many spans that was and,
// when the last query failed, why.
//
// A query for thousands of traces keeps a busy machine's Jaeger working
// for a while, so the polls back off (up to a second apart) instead of
// queueing queries behind each other.
func (s *Server) WaitForSpans(ctx context.Context, service string, n int) ([]Trace, error) {
	var seen []Trace
	pause := 100 * time.Millisecond
	for {
		traces, err := s.Traces(ctx, service)
		if err == nil {
			seen = traces
			if len(Spans(traces, service)) >= n {
				return traces, nil
			}
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("saw %d", len(Spans(seen, service)))
			if err != nil {
				msg += fmt.Sprintf("; last query: %v", err)
			}
			// Say where spans went missing: not received, refused, or
			// received and not stored.
			mctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if c, merr := s.PipelineCounts(mctx); merr == nil {
				msg += "; jaeger's pipeline: " + c.String()
			}
			return seen, fmt.Errorf("jaegertest: waiting for %d spans of %q: %w (%s)", n, service, ctx.Err(), msg)
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

// PipelineCounts are the span counters of jaeger's trace pipeline, summed
// over receivers and exporters, from its own Prometheus metrics.
type PipelineCounts struct {
	Accepted, Refused float64 // by the receivers
	Sent, SendFailed  float64 // by the storage exporter
}

func (c PipelineCounts) String() string {
	return fmt.Sprintf("received %.0f, refused %.0f, stored %.0f, failed to store %.0f", c.Accepted, c.Refused, c.Sent, c.SendFailed)
}

// PipelineCounts reads MetricsURL. It is a diagnostic: WaitForSpans adds
// it to its error when spans do not show up.
func (s *Server) PipelineCounts(ctx context.Context) (PipelineCounts, error) {
	var c PipelineCounts
	body, err := get(ctx, s.MetricsURL)
	if err != nil {
		return c, fmt.Errorf("jaegertest: metrics: %w", err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		name, rest, ok := strings.Cut(line, "{")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		var dst *float64
		switch name {
		case "otelcol_receiver_accepted_spans", "otelcol_receiver_accepted_spans_total":
			dst = &c.Accepted
		case "otelcol_receiver_refused_spans", "otelcol_receiver_refused_spans_total":
			dst = &c.Refused
		case "otelcol_exporter_sent_spans", "otelcol_exporter_sent_spans_total":
			dst = &c.Sent
		case "otelcol_exporter_send_failed_spans", "otelcol_exporter_send_failed_spans_total":
			dst = &c.SendFailed
		default:
			continue
		}
		_, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		value, _, _ = strings.Cut(value, " ") // a timestamp may follow
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			*dst += v
		}
	}
	return c, nil
}

// get returns the body of a GET of u that answers 200 OK.
func get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, tail(body, 1024))
	}
	return body, nil
}

// The query API's JSON (jaeger internal/uimodel).
type apiResponse struct {
	Data   []apiTrace `json:"data"`
	Errors []struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"errors"`
}

type apiTrace struct {
	TraceID string `json:"traceID"`
	Spans   []struct {
		TraceID       string `json:"traceID"`
		SpanID        string `json:"spanID"`
		OperationName string `json:"operationName"`
		References    []struct {
			RefType string `json:"refType"`
			TraceID string `json:"traceID"`
			SpanID  string `json:"spanID"`
		} `json:"references"`
		StartTime int64         `json:"startTime"` // µs since the epoch
		Duration  int64         `json:"duration"`  // µs
		Tags      []apiKeyValue `json:"tags"`
		Logs      []struct {
			Timestamp int64         `json:"timestamp"`
			Fields    []apiKeyValue `json:"fields"`
		} `json:"logs"`
		ProcessID string `json:"processID"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string        `json:"serviceName"`
		Tags        []apiKeyValue `json:"tags"`
	} `json:"processes"`
}

type apiKeyValue struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

func (at *apiTrace) convert() (Trace, error) {
	t := Trace{TraceID: at.TraceID, Spans: make([]Span, 0, len(at.Spans))}
	for _, as := range at.Spans {
		sp := Span{
			TraceID:       as.TraceID,
			SpanID:        as.SpanID,
			OperationName: as.OperationName,
			StartTime:     time.UnixMicro(as.StartTime),
			Duration:      time.Duration(as.Duration) * time.Microsecond,
		}
		for _, r := range as.References {
			sp.References = append(sp.References, Reference{Type: r.RefType, TraceID: r.TraceID, SpanID: r.SpanID})
		}
		for _, r := range sp.References {
			if r.Type == "CHILD_OF" {
				sp.ParentSpanID = r.SpanID
				break
			}
		}
		if sp.ParentSpanID == "" && len(sp.References) > 0 {
			sp.ParentSpanID = sp.References[0].SpanID
		}
		var err error
		if sp.Tags, err = kvMap(as.Tags); err != nil {
			return Trace{}, fmt.Errorf("span %s tags: %w", as.SpanID, err)
		}
		for _, l := range as.Logs {
			fields, err := kvMap(l.Fields)
			if err != nil {
				return Trace{}, fmt.Errorf("span %s log: %w", as.SpanID, err)
			}
			sp.Logs = append(sp.Logs, Log{Timestamp: time.UnixMicro(l.Timestamp), Fields: fields})
		}
		if p, ok := at.Processes[as.ProcessID]; ok {
			sp.ServiceName = p.ServiceName
			if sp.ProcessTags, err = kvMap(p.Tags); err != nil {
				return Trace{}, fmt.Errorf("process %s tags: %w", as.ProcessID, err)
			}
		}
		t.Spans = append(t.Spans, sp)
	}
	return t, nil
}

// kvMap converts key-values to a map, typing each value by its declared type.
func kvMap(kvs []apiKeyValue) (map[string]any, error) {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		var v any
		var err error
		switch kv.Type {
		case "string":
			var s string
			err = json.Unmarshal(kv.Value, &s)
			v = s
		case "bool":
			var b bool
			err = json.Unmarshal(kv.Value, &b)
			v = b
		case "int64":
			var i int64
			err = json.Unmarshal(kv.Value, &i)
			v = i
		case "float64":
			var f float64
			err = json.Unmarshal(kv.Value, &f)
			v = f
		case "binary":
			var s string
			if err = json.Unmarshal(kv.Value, &s); err == nil {
				v, err = base64.StdEncoding.DecodeString(s)
			}
		default:
			err = json.Unmarshal(kv.Value, &v)
		}
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", kv.Key, kv.Type, err)
		}
		m[kv.Key] = v
	}
	return m, nil
}
