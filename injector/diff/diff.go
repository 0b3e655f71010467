// Package diff produces unified diffs of two versions of a file, so that
// a user can see exactly what ottoolexec changed in a package's source.
//
// The line matching is Myers' O(ND) algorithm in its linear-space form
// ("An O(ND) Difference Algorithm and Its Variations", 1986): time grows
// with the file length times the number of differing lines, so the
// typical case (a long standard-library file with a few edited lines)
// costs little more than reading both files.
package diff

import (
	"bytes"
	"fmt"
)

// Unified returns the unified diff that turns old into new, with context
// unchanged lines around each change, or nil when they are equal.
//
// Ranges in the "-" part of hunk headers are line numbers of old, those in
// the "+" part line numbers of new. Both always carry their count
// ("@@ -3,7 +3,8 @@"); an empty range is numbered after the line it
// follows, as patch expects. A last line without a newline is followed by
// the "\ No newline at end of file" marker.
func Unified(oldName, newName string, old, new []byte, context int) []byte {
	if bytes.Equal(old, new) {
		return nil
	}
	if context < 0 {
		context = 0
	}
	oldLines, newLines := splitLines(old), splitLines(new)
	changes := compareLines(oldLines, newLines) // not empty: the texts differ

	var out bytes.Buffer
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", oldName, newName)
	for _, h := range groupHunks(changes, context, len(oldLines)) {
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(h.oldStart, h.oldEnd), hunkRange(h.newStart, h.newEnd))
		o, n := h.oldStart, h.newStart
		for _, c := range h.changes {
			for ; o < c.oldStart; o, n = o+1, n+1 {
				writeLine(&out, ' ', oldLines[o])
			}
			for ; o < c.oldEnd; o++ {
				writeLine(&out, '-', oldLines[o])
			}
			for ; n < c.newEnd; n++ {
				writeLine(&out, '+', newLines[n])
			}
		}
		for ; o < h.oldEnd; o++ {
			writeLine(&out, ' ', oldLines[o])
		}
	}
	return out.Bytes()
}

// splitLines cuts text into lines that keep their "\n", so that a last
// line without one differs from the same text with one.
func splitLines(text []byte) [][]byte {
	lines := make([][]byte, 0, bytes.Count(text, []byte{'\n'})+1)
	for len(text) > 0 {
		i := bytes.IndexByte(text, '\n') + 1
		if i == 0 {
			i = len(text)
		}
		lines = append(lines, text[:i])
		text = text[i:]
	}
	return lines
}

// writeLine writes one diff line: its prefix, the line, and for a line
// that does not end the way every diff line must, a newline and the
// marker that tells patch to drop it.
func writeLine(out *bytes.Buffer, prefix byte, line []byte) {
	out.WriteByte(prefix)
	out.Write(line)
	if len(line) == 0 || line[len(line)-1] != '\n' {
		out.WriteString("\n\\ No newline at end of file\n")
	}
}

// hunkRange formats the 0-based half-open line range [start, end) the way
// a hunk header numbers it.
func hunkRange(start, end int) string {
	if start == end {
		// An empty range names the line before the gap (0 at the start).
		return fmt.Sprintf("%d,0", start)
	}
	return fmt.Sprintf("%d,%d", start+1, end-start)
}

// change is one run of differing lines: old[oldStart:oldEnd] is replaced
// by new[newStart:newEnd]; either side may be empty.
type change struct {
	oldStart, oldEnd int
	newStart, newEnd int
}

// hunk is a run of changes close enough to share their context lines,
// with the line ranges it covers in both files, context included.
type hunk struct {
	oldStart, oldEnd int
	newStart, newEnd int
	changes          []change
}

// groupHunks merges changes separated by at most 2*context unchanged lines
// into one hunk, since their context would otherwise overlap.
func groupHunks(changes []change, context, oldLen int) []hunk {
	var hunks []hunk
	for i := 0; i < len(changes); {
		j := i + 1
		for j < len(changes) && changes[j].oldStart-changes[j-1].oldEnd <= 2*context {
			j++
		}
		first, last := changes[i], changes[j-1]
		before := min(context, first.oldStart)    // unchanged lines before first, equal in both files
		after := min(context, oldLen-last.oldEnd) // and after last, equal too
		hunks = append(hunks, hunk{
			oldStart: first.oldStart - before, oldEnd: last.oldEnd + after,
			newStart: first.newStart - before, newEnd: last.newEnd + after,
			changes: changes[i:j],
		})
		i = j
	}
	return hunks
}

// compareLines returns the runs of lines that differ between old and new,
// in order, forming a shortest edit script.
func compareLines(old, new [][]byte) []change {
	// Compare lines by number rather than by content: the search compares
	// the same pairs many times.
	ids := make(map[string]int, len(old))
	number := func(lines [][]byte) []int {
		out := make([]int, len(lines))
		for i, l := range lines {
			id, ok := ids[string(l)]
			if !ok {
				id = len(ids)
				ids[string(l)] = id
			}
			out[i] = id
		}
		return out
	}
	oldIDs, newIDs := number(old), number(new)

	// A line found in only one file is an edit whatever the alignment.
	// Leaving such lines out of the search keeps a rewritten region from
	// costing the square of its length; the search runs on the rest, and
	// positions in it map back through oldAt and newAt.
	inOld, inNew := make([]bool, len(ids)), make([]bool, len(ids))
	for _, id := range oldIDs {
		inOld[id] = true
	}
	for _, id := range newIDs {
		inNew[id] = true
	}
	deleted, inserted := make([]bool, len(old)), make([]bool, len(new))
	s := &search{}
	var oldAt, newAt []int
	for i, id := range oldIDs {
		if inNew[id] {
			s.a, oldAt = append(s.a, id), append(oldAt, i)
		} else {
			deleted[i] = true
		}
	}
	for j, id := range newIDs {
		if inOld[id] {
			s.b, newAt = append(s.b, id), append(newAt, j)
		} else {
			inserted[j] = true
		}
	}
	s.deleted, s.inserted = make([]bool, len(s.a)), make([]bool, len(s.b))
	// Furthest-reaching arrays, indexed by diagonal plus an offset; sized
	// for the largest subproblem (the whole), and reused by every smaller
	// one.
	size := len(s.a) + len(s.b) + 3
	s.forward, s.backward = make([]int, size), make([]int, size)
	s.compare(0, len(s.a), 0, len(s.b))
	for i, d := range s.deleted {
		deleted[oldAt[i]] = d
	}
	for j, d := range s.inserted {
		inserted[newAt[j]] = d
	}

	var changes []change
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		if i < len(old) && j < len(new) && !deleted[i] && !inserted[j] {
			i, j = i+1, j+1
			continue
		}
		c := change{oldStart: i, newStart: j}
		for i < len(old) && deleted[i] {
			i++
		}
		for j < len(new) && inserted[j] {
			j++
		}
		c.oldEnd, c.newEnd = i, j
		changes = append(changes, c)
	}
	return changes
}

// search holds the state of one Myers comparison of a and b (line
// numbers). Its result is the marks: deleted[i] means a[i] is not in the
// common subsequence, inserted[j] that b[j] is not.
type search struct {
	a, b              []int
	deleted, inserted []bool
	forward, backward []int
}

// compare marks the edits that turn a[aLo:aHi] into b[bLo:bHi].
func (s *search) compare(aLo, aHi, bLo, bHi int) {
	for {
		// Equal lines at either end are not worth a search.
		for aLo < aHi && bLo < bHi && s.a[aLo] == s.b[bLo] {
			aLo, bLo = aLo+1, bLo+1
		}
		for aLo < aHi && bLo < bHi && s.a[aHi-1] == s.b[bHi-1] {
			aHi, bHi = aHi-1, bHi-1
		}
		if aLo == aHi {
			for j := bLo; j < bHi; j++ {
				s.inserted[j] = true
			}
			return
		}
		if bLo == bHi {
			for i := aLo; i < aHi; i++ {
				s.deleted[i] = true
			}
			return
		}
		x, y := s.split(aLo, aHi, bLo, bHi)
		// Recurse into the smaller half and loop on the other, so that the
		// stack stays shallow whatever the shape of the edits.
		if (x-aLo)+(y-bLo) < (aHi-x)+(bHi-y) {
			s.compare(aLo, x, bLo, y)
			aLo, bLo = x, y
		} else {
			s.compare(x, aHi, y, bHi)
			aHi, bHi = x, y
		}
	}
}

// split returns a point (x, y) on a shortest edit path from (aLo, bLo) to
// (aHi, bHi), strictly between the two, found by running the search
// forward from the start and backward from the end until they meet. The
// ranges must be non-empty and differ in their first and in their last
// lines (compare strips those), which makes the shortest path at least two
// edits long and the meeting point strictly inside.
//
// Coordinates inside are relative to (aLo, bLo); diagonal k holds the
// points with x-y == k. forward[off+k] is the largest x reached on
// diagonal k by a path of d edits from the start; backward[off+k] the
// smallest x reached on diagonal k by a path of d edits from the end.
func (s *search) split(aLo, aHi, bLo, bHi int) (int, int) {
	n, m := aHi-aLo, bHi-bLo
	delta := n - m // the diagonal of the end point
	odd := delta&1 != 0
	off := m + 1 // diagonals run from -m to n; keep one spare on each side
	forward, backward := s.forward, s.backward
	a, b := s.a[aLo:aHi], s.b[bLo:bHi]

	// Diagonals outside [-m, n] hold no point of the grid: both searches
	// stay within them. fMin..fMax and bMin..bMax are the ranges the
	// searches have reached so far; the spare entries just outside them
	// hold values that can never win, so that the edges need no special
	// case.
	//
	// A furthest point can still lie off the grid (a step down from the
	// last line of b, say), but never where the searches first meet: such
	// a point spends at least two edits more than the path along the
	// grid's edge, so the meeting on the grid comes first. The meeting
	// point is then on a shortest path, hence on the grid.
	fMin, fMax := 0, 0
	bMin, bMax := delta, delta
	forward[off] = 0
	backward[off+delta] = n
	forward[off-1], forward[off+1] = -1, -1
	backward[off+delta-1], backward[off+delta+1] = n+1, n+1

	for d := 1; ; d++ {
		// Widen the forward range by one diagonal each side when the grid
		// allows, else narrow it so that the parity matches d.
		if fMin > -m {
			fMin--
			forward[off+fMin-1] = -1
		} else {
			fMin++
		}
		if fMax < n {
			fMax++
			forward[off+fMax+1] = -1
		} else {
			fMax--
		}
		for k := fMax; k >= fMin; k -= 2 {
			// One edit from a neighbouring diagonal: a deletion (step right)
			// from k-1 or an insertion (step down) from k+1, whichever
			// reaches further.
			var x int
			if fromLeft, fromAbove := forward[off+k-1]+1, forward[off+k+1]; fromLeft > fromAbove {
				x = fromLeft
			} else {
				x = fromAbove
			}
			startX := x
			for y := x - k; x < n && y < m && a[x] == b[y]; x, y = x+1, y+1 {
			}
			forward[off+k] = x
			if odd && bMin <= k && k <= bMax && x >= backward[off+k] {
				// The paths meet: d forward edits and d-1 backward ones
				// make a shortest path through the start of this snake.
				return aLo + startX, bLo + startX - k
			}
		}

		if bMin > -m {
			bMin--
			backward[off+bMin-1] = n + 1
		} else {
			bMin++
		}
		if bMax < n {
			bMax++
			backward[off+bMax+1] = n + 1
		} else {
			bMax--
		}
		for k := bMax; k >= bMin; k -= 2 {
			// One edit backward: a deletion (step left) from k+1 or an
			// insertion (step up) from k-1.
			var x int
			if fromRight, fromBelow := backward[off+k+1]-1, backward[off+k-1]; fromRight < fromBelow {
				x = fromRight
			} else {
				x = fromBelow
			}
			startX := x
			for y := x - k; x > 0 && y > 0 && a[x-1] == b[y-1]; x, y = x-1, y-1 {
			}
			backward[off+k] = x
			if !odd && fMin <= k && k <= fMax && x <= forward[off+k] {
				// d edits each way: the path goes through the (backward)
				// start of this snake.
				return aLo + startX, bLo + startX - k
			}
		}
	}
}
