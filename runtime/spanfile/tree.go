package spanfile

import (
	"bytes"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// treeTags are the tags a tree line shows, in this order, when present: the
// ones that say what a span did without opening the full record.
var treeTags = []string{
	"span.kind",
	"http.method",
	"http.url",
	"http.status_code",
	"db.type",
	"db.statement",
	"peer.address",
	"error",
	"component",
}

const (
	maxStatementRunes = 80 // db.statement is cut to this many characters on a tree line
	maxIndentDepth    = 40 // deeper spans stop moving right, so a runaway chain stays readable
)

// WriteTree writes spans as indented trees, one per trace, in a single Write.
//
// Spans are grouped by trace id and linked to their parent by span id, so the
// spans of several processes (read from one JSONL file) join into one tree.
// A span whose parent is not in spans is printed as a root of its trace.
// Traces come in the order of their earliest start, roots and children in
// the order of their start, ties broken by span id, so the output is stable.
//
// Each trace starts with a header line "trace <id> (<n> spans)"; each span is
// one line: indentation by depth, operation, [service], duration in
// milliseconds, then the key tags (span.kind, http.method, http.url,
// http.status_code, db.type, db.statement, peer.address, error=true,
// component) when present.
func WriteTree(w io.Writer, spans []Span) error {
	if len(spans) == 0 {
		return nil
	}
	var buf bytes.Buffer
	for _, trace := range groupByTrace(spans) {
		writeTrace(&buf, spans, trace)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// groupByTrace returns the indexes of spans grouped by trace id, traces in
// the order of their earliest start, then id.
func groupByTrace(spans []Span) [][]int {
	index := make(map[string]int) // trace id -> position in traces
	var traces [][]int
	for i := range spans {
		t, ok := index[spans[i].TraceID]
		if !ok {
			t = len(traces)
			index[spans[i].TraceID] = t
			traces = append(traces, nil)
		}
		traces[t] = append(traces[t], i)
	}
	first := func(trace []int) Span {
		earliest := spans[trace[0]]
		for _, i := range trace[1:] {
			if spans[i].Start.Before(earliest.Start) {
				earliest = spans[i]
			}
		}
		return earliest
	}
	sort.SliceStable(traces, func(a, b int) bool {
		fa, fb := first(traces[a]), first(traces[b])
		if !fa.Start.Equal(fb.Start) {
			return fa.Start.Before(fb.Start)
		}
		return fa.TraceID < fb.TraceID
	})
	return traces
}

func writeTrace(buf *bytes.Buffer, spans []Span, trace []int) {
	id := spans[trace[0]].TraceID
	if id == "" {
		id = "?"
	}
	buf.WriteString("trace ")
	buf.WriteString(id)
	if len(trace) == 1 {
		buf.WriteString(" (1 span)\n")
	} else {
		buf.WriteString(" (" + strconv.Itoa(len(trace)) + " spans)\n")
	}

	// The first span with a given id is the one children attach to, so a
	// duplicated record cannot make a span print twice under two parents.
	byID := make(map[string]int, len(trace))
	for _, i := range trace {
		if _, dup := byID[spans[i].SpanID]; !dup {
			byID[spans[i].SpanID] = i
		}
	}
	children := make(map[int][]int)
	var roots []int
	for _, i := range trace {
		s := &spans[i]
		p, ok := byID[s.ParentID]
		if s.ParentID == "" || !ok || p == i {
			roots = append(roots, i)
			continue
		}
		children[p] = append(children[p], i)
	}
	byStart := func(list []int) {
		sort.SliceStable(list, func(a, b int) bool {
			sa, sb := &spans[list[a]], &spans[list[b]]
			if !sa.Start.Equal(sb.Start) {
				return sa.Start.Before(sb.Start)
			}
			return sa.SpanID < sb.SpanID
		})
	}
	byStart(roots)
	for _, c := range children {
		byStart(c)
	}

	printed := make(map[int]bool, len(trace))
	var walk func(i, depth int)
	walk = func(i, depth int) {
		if printed[i] {
			return
		}
		printed[i] = true
		writeLine(buf, &spans[i], depth)
		for _, c := range children[i] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 1)
	}
	// Spans caught in a parent cycle have no root above them; print them as
	// roots rather than lose them.
	var rest []int
	for _, i := range trace {
		if !printed[i] {
			rest = append(rest, i)
		}
	}
	byStart(rest)
	for _, i := range rest {
		walk(i, 1)
	}
}

func writeLine(buf *bytes.Buffer, s *Span, depth int) {
	if depth > maxIndentDepth {
		depth = maxIndentDepth
	}
	for i := 0; i < depth; i++ {
		buf.WriteString("  ")
	}
	op, service := s.Operation, s.Service
	if op == "" {
		op = "(no operation)"
	}
	if service == "" {
		service = "?"
	}
	buf.WriteString(oneLine(op))
	buf.WriteString(" [")
	buf.WriteString(oneLine(service))
	buf.WriteString("] ")
	buf.WriteString(strconv.FormatFloat(float64(s.Duration.Microseconds())/1000, 'f', 3, 64))
	buf.WriteString("ms")
	for _, key := range treeTags {
		v, ok := s.Tags[key]
		if !ok {
			continue
		}
		if key == "error" {
			// Only a set error flag is news; error=false is noise.
			if b, isBool := v.(bool); (isBool && b) || v == "true" {
				buf.WriteString(" error=true")
			}
			continue
		}
		text := tagText(v)
		if key == "db.statement" {
			text = shorten(strings.Join(strings.Fields(text), " "), maxStatementRunes)
		}
		buf.WriteByte(' ')
		buf.WriteString(key)
		buf.WriteByte('=')
		buf.WriteString(quoteIfNeeded(text))
	}
	buf.WriteByte('\n')
}

func tagText(v interface{}) string {
	switch x := jsonValue(v).(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return "" // jsonValue returns only the types above
}

// shorten cuts s to at most n runes, marking the cut with "...".
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return string(runes[:n-3]) + "..."
}

// quoteIfNeeded leaves simple values bare (GET, 200, /users?id=1) and quotes
// the rest, so every tag stays one key=value token on one line.
func quoteIfNeeded(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if unicode.IsSpace(r) || r == '"' || r == '\\' || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// oneLine keeps a name from breaking the tree across lines.
func oneLine(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || !unicode.IsPrint(r) && r != ' ' }) < 0 {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
