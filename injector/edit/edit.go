// Package edit queues text edits against an original byte slice and applies
// them in one pass, so that a rewriter never reprints a whole file and every
// byte it did not touch stays where it was.
package edit

import (
	"fmt"
	"sort"
)

// Buffer holds the original text and the edits queued against it.
// Offsets always refer to the original text, whatever was queued before.
type Buffer struct {
	old   []byte
	edits []change
}

type change struct {
	start, end int // half-open range of old replaced by text
	text       string
	seq        int // queue order, to keep insertions at one offset in order
}

// NewBuffer returns a Buffer editing old. The Buffer does not modify old.
func NewBuffer(old []byte) *Buffer {
	return &Buffer{old: old}
}

// Insert queues text to be inserted at offset pos.
func (b *Buffer) Insert(pos int, text string) {
	b.Replace(pos, pos, text)
}

// Delete queues the removal of old[start:end].
func (b *Buffer) Delete(start, end int) {
	b.Replace(start, end, "")
}

// Replace queues the replacement of old[start:end] by text.
func (b *Buffer) Replace(start, end int, text string) {
	if start < 0 || end < start || end > len(b.old) {
		panic(fmt.Sprintf("edit: invalid range [%d:%d] for text of length %d", start, end, len(b.old)))
	}
	b.edits = append(b.edits, change{start, end, text, len(b.edits)})
}

// Bytes returns the text with every queued edit applied. Edits must not
// overlap; insertions at the same offset appear in the order they were
// queued, before any replacement that starts there.
func (b *Buffer) Bytes() ([]byte, error) {
	edits := append([]change(nil), b.edits...)
	sort.SliceStable(edits, func(i, j int) bool {
		// Insertions at an offset go before a replacement starting there.
		if edits[i].start != edits[j].start {
			return edits[i].start < edits[j].start
		}
		if edits[i].end != edits[j].end {
			return edits[i].end < edits[j].end
		}
		return edits[i].seq < edits[j].seq
	})
	var out []byte
	offset := 0
	for i, e := range edits {
		if e.start < offset {
			prev := edits[i-1]
			return nil, fmt.Errorf("edit: overlapping edits at [%d:%d] and [%d:%d]", prev.start, prev.end, e.start, e.end)
		}
		out = append(out, b.old[offset:e.start]...)
		out = append(out, e.text...)
		offset = e.end
	}
	out = append(out, b.old[offset:]...)
	return out, nil
}
