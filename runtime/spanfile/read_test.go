package spanfile

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestReadJSONL(t *testing.T) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, s := range multiProcessSpans() {
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
	}
	buf.WriteString("\n") // blank lines are fine
	spans, err := ReadJSONL(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var tree bytes.Buffer
	if err := WriteTree(&tree, spans); err != nil {
		t.Fatal(err)
	}
	if tree.String() != multiProcessTree {
		t.Errorf("tree from file differs:\n%s", tree.String())
	}

	bad := `{"trace_id":"a","span_id":"b"}` + "\n\n" + `{"trace_id":` + "\n"
	spans, err = ReadJSONL(strings.NewReader(bad))
	if err == nil || !strings.HasPrefix(err.Error(), "line 3:") {
		t.Errorf("error %v does not name line 3", err)
	}
	if len(spans) != 1 {
		t.Errorf("got %d spans before the bad line, want 1", len(spans))
	}
	if _, err := ReadJSONL(strings.NewReader("[1,2]\n")); err == nil || !strings.HasPrefix(err.Error(), "line 1:") {
		t.Errorf("non-object line: %v", err)
	}
}

// ReadJSONLSkipping keeps every span of a damaged file and names each line
// it skipped.
func TestReadJSONLSkipping(t *testing.T) {
	damaged := `{"trace_id":"a","span_id":"1"}` + "\n" +
		"some other output\n" +
		`{"level":"info","msg":"listening"}` + "\n" +
		`{"trace_id":"a","span_id":"2"}` + "\n" +
		`{"trace_id":"a","span_id":"3","operation":` // killed mid-line
	spans, bad, err := ReadJSONLSkipping(strings.NewReader(damaged))
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 2 || spans[0].SpanID != "1" || spans[1].SpanID != "2" {
		t.Errorf("spans = %+v, want spans 1 and 2", spans)
	}
	if len(bad) != 3 || !strings.HasPrefix(bad[0].Error(), "line 2:") || !strings.HasPrefix(bad[1].Error(), "line 3: not a span") || !strings.HasPrefix(bad[2].Error(), "line 5:") {
		t.Errorf("bad = %v, want lines 2, 3 and 5", bad)
	}
}
