package spanfile

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// multiProcessSpans is one request through two processes (frontend calls
// payments over HTTP, payments runs a query), plus a span whose parent is
// in no file, plus an earlier one-span trace of a third process. They come
// in the order the processes might have appended them to a shared file.
func multiProcessSpans() []Span {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	return []Span{
		{
			TraceID: trace, SpanID: "00000000000000d4", ParentID: "00000000000000c3",
			Operation: "sql.query", Service: "payments", Start: t0.Add(ms(3)), Duration: ms(1.234),
			Tags: map[string]interface{}{
				"span.kind": "client", "db.type": "sql", "component": "database/sql",
				"db.statement": "SELECT id, amount, currency\n  FROM charges\n  WHERE customer_id = $1 AND created_at > $2 ORDER BY created_at DESC",
			},
		},
		{
			TraceID: trace, SpanID: "00000000000000c3", ParentID: "00000000000000b2",
			Operation: "POST /charge", Service: "payments", Start: t0.Add(ms(2)), Duration: ms(18.25),
			Tags: map[string]interface{}{
				"span.kind": "server", "http.method": "POST", "http.url": "/charge",
				"http.status_code": int64(500), "error": true, "component": "net/http",
			},
		},
		{
			TraceID: trace, SpanID: "00000000000000e5", ParentID: "9999999999999999",
			Operation: "cache.get", Service: "payments", Start: t0.Add(ms(10)), Duration: ms(0.05),
			Tags: map[string]interface{}{"peer.address": "redis:6379"},
		},
		{
			TraceID: trace, SpanID: "00000000000000b2", ParentID: "00000000000000a1",
			Operation: "HTTP POST", Service: "frontend", Start: t0.Add(ms(1)), Duration: ms(20),
			Tags: map[string]interface{}{
				"component": "net/http", "span.kind": "client", "http.method": "POST",
				"http.url": "http://payments:8080/charge", "peer.address": "payments:8080",
				"http.status_code": int64(500),
			},
		},
		{
			TraceID: trace, SpanID: "00000000000000f6", ParentID: "00000000000000a1",
			Operation: "render", Service: "frontend", Start: t0.Add(ms(0.5)), Duration: ms(0.75),
			Tags: map[string]interface{}{"error": false},
		},
		{
			TraceID: trace, SpanID: "00000000000000a1",
			Operation: "GET /checkout", Service: "frontend", Start: t0, Duration: ms(25.5),
			Tags: map[string]interface{}{
				"span.kind": "server", "http.method": "GET", "http.url": "/checkout?cart=42&user=7",
				"http.status_code": int64(200), "component": "net/http", "sampler.type": "const",
			},
		},
		{
			TraceID: "00000000000000ab", SpanID: "00000000000000ab",
			Operation: "cron.tick", Service: "worker", Start: t0.Add(-time.Second), Duration: ms(3),
		},
	}
}

const multiProcessTree = `trace 00000000000000ab (1 span)
  cron.tick [worker] 3.000ms
trace 4bf92f3577b34da6a3ce929d0e0e4736 (6 spans)
  GET /checkout [frontend] 25.500ms span.kind=server http.method=GET http.url=/checkout?cart=42&user=7 http.status_code=200 component=net/http
    render [frontend] 0.750ms
    HTTP POST [frontend] 20.000ms span.kind=client http.method=POST http.url=http://payments:8080/charge http.status_code=500 peer.address=payments:8080 component=net/http
      POST /charge [payments] 18.250ms span.kind=server http.method=POST http.url=/charge http.status_code=500 error=true component=net/http
        sql.query [payments] 1.234ms span.kind=client db.type=sql db.statement="SELECT id, amount, currency FROM charges WHERE customer_id = $1 AND created_a..." component=database/sql
  cache.get [payments] 0.050ms peer.address=redis:6379
`

func TestWriteTreeMultiProcess(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTree(&buf, multiProcessSpans()); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != multiProcessTree {
		t.Errorf("tree differs\n--- got\n%s--- want\n%s", got, multiProcessTree)
	}
}

func TestWriteTreeStableUnderInputOrder(t *testing.T) {
	spans := multiProcessSpans()
	for i, j := 0, len(spans)-1; i < j; i, j = i+1, j-1 {
		spans[i], spans[j] = spans[j], spans[i]
	}
	var buf bytes.Buffer
	if err := WriteTree(&buf, spans); err != nil {
		t.Fatal(err)
	}
	if buf.String() != multiProcessTree {
		t.Errorf("reversed input printed differently:\n%s", buf.String())
	}
}

func TestWriteTreeSurvivesParentCycle(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	spans := []Span{
		{TraceID: "t", SpanID: "a", ParentID: "b", Operation: "a", Service: "s", Start: t0},
		{TraceID: "t", SpanID: "b", ParentID: "a", Operation: "b", Service: "s", Start: t0.Add(time.Millisecond)},
		{TraceID: "t", SpanID: "c", ParentID: "c", Operation: "self\nparent", Service: "s", Start: t0.Add(2 * time.Millisecond)},
	}
	var buf bytes.Buffer
	if err := WriteTree(&buf, spans); err != nil {
		t.Fatal(err)
	}
	want := "trace t (3 spans)\n" +
		"  self\\nparent [s] 0.000ms\n" +
		"  a [s] 0.000ms\n" +
		"    b [s] 0.000ms\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	if strings.Count(buf.String(), "\n") != 4 {
		t.Errorf("every span should print exactly once")
	}
}

func TestWriteTreeEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTree(&buf, nil); err != nil || buf.Len() != 0 {
		t.Errorf("WriteTree(nil) wrote %q, %v", buf.String(), err)
	}
}
