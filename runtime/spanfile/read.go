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
	var first error
	spans, err := readJSONL(r, func(bad error) bool {
		first = bad
		return false
	})
	if first != nil {
		return spans, first
	}
	return spans, err
}

// ReadJSONLSkipping reads like ReadJSONL but skips the lines that are not
// span objects (the half-written last line of a process that was killed,
// a stray line of other output), returning an error naming each one in
// bad. err reports what stopped the read early: an I/O error or a line
// too long to read.
func ReadJSONLSkipping(r io.Reader) (spans []Span, bad []error, err error) {
	spans, err = readJSONL(r, func(e error) bool {
		bad = append(bad, e)
		return true
	})
	return spans, bad, err
}

// readJSONL reads span lines, calling onBad with the error of each line
// that is not a span object; the read goes on while onBad returns true.
func readJSONL(r io.Reader, onBad func(error) bool) ([]Span, error) {
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
		var bad error
		var s Span
		if text[0] != '{' {
			bad = fmt.Errorf("line %d: not a JSON object", n)
		} else if err := json.Unmarshal(text, &s); err != nil {
			bad = fmt.Errorf("line %d: %w", n, err)
		} else if s.TraceID == "" || s.SpanID == "" {
			// Some other JSON log line, not a span.
			bad = fmt.Errorf("line %d: not a span (no trace_id or span_id)", n)
		}
		if bad != nil {
			if !onBad(bad) {
				return spans, nil
			}
			continue
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
