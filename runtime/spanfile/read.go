package spanfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxJSONLLine bounds one line of ReadJSONL; a span with a huge statement or
// many logs still fits, a file that is not JSONL fails fast.
const maxJSONLLine = 64 << 20

// ReadJSONL reads spans written by JSONL (or by several processes sharing
// one file), one JSON object per line. Blank lines are skipped. A line that
// is not a span object fails the read with an error naming its line number;
// the spans read before it are returned with the error.
func ReadJSONL(r io.Reader) ([]Span, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxJSONLLine)
	var spans []Span
	n := 0 // number of the line last read
	for sc.Scan() {
		n++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		if text[0] != '{' {
			return spans, fmt.Errorf("line %d: not a JSON object", n)
		}
		var s Span
		if err := json.Unmarshal(text, &s); err != nil {
			return spans, fmt.Errorf("line %d: %w", n, err)
		}
		spans = append(spans, s)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return spans, fmt.Errorf("line %d: longer than %d bytes: %w", n+1, maxJSONLLine, err)
		}
		return spans, fmt.Errorf("line %d: %w", n+1, err)
	}
	return spans, nil
}
