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
