package diff

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// numbered returns the lines "line 1\n" to "line n\n".
func numbered(n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("line %d\n", i+1)
	}
	return lines
}

func join(lines []string) []byte { return []byte(strings.Join(lines, "")) }

func TestUnifiedGolden(t *testing.T) {
	long := numbered(30)
	edited := append([]string(nil), long...)
	edited[9] = "line 10 changed\n"              // line 10 changed,
	edited = append(edited[:14], edited[15:]...) // line 15 deleted: 4 lines apart, one hunk
	edited = append(edited[:23], append([]string{"new after 24\n"}, edited[23:]...)...)
	// an insertion after line 24: 8 unchanged lines after 15, a hunk of its own

	tests := []struct {
		name     string
		old, new string
		context  int
		want     string
	}{
		{
			name:    "insertion at start",
			old:     "a\nb\nc\nd\ne\n",
			new:     "//line x.go:1\na\nb\nc\nd\ne\n",
			context: 3,
			want: `--- old
+++ new
@@ -1,3 +1,4 @@
+//line x.go:1
 a
 b
 c
`,
		},
		{
			name:    "edits in the middle, nearby hunks merged",
			old:     string(join(long)),
			new:     string(join(edited)),
			context: 2,
			want: `--- old
+++ new
@@ -8,10 +8,9 @@
 line 8
 line 9
-line 10
+line 10 changed
 line 11
 line 12
 line 13
 line 14
-line 15
 line 16
 line 17
@@ -23,4 +22,5 @@
 line 23
 line 24
+new after 24
 line 25
 line 26
`,
		},
		{
			name:    "deletion",
			old:     "a\nb\nc\nd\ne\nf\ng\n",
			new:     "a\nb\ne\nf\ng\n",
			context: 1,
			want: `--- old
+++ new
@@ -2,4 +2,2 @@
 b
-c
-d
 e
`,
		},
		{
			name:    "deletion of everything",
			old:     "a\nb\n",
			new:     "",
			context: 3,
			want: `--- old
+++ new
@@ -1,2 +0,0 @@
-a
-b
`,
		},
		{
			name:    "creation",
			old:     "",
			new:     "a\n",
			context: 3,
			want: `--- old
+++ new
@@ -0,0 +1,1 @@
+a
`,
		},
		{
			name:    "insertion without context",
			old:     "a\nb\nc\n",
			new:     "a\nb\nx\nc\n",
			context: 0,
			want: `--- old
+++ new
@@ -2,0 +3,1 @@
+x
`,
		},
		{
			name:    "final newline added",
			old:     "a\nb",
			new:     "a\nb\n",
			context: 3,
			want: `--- old
+++ new
@@ -1,2 +1,2 @@
 a
-b
\ No newline at end of file
+b
`,
		},
		{
			name:    "final newline removed",
			old:     "a\nb\n",
			new:     "a\nb",
			context: 3,
			want: `--- old
+++ new
@@ -1,2 +1,2 @@
 a
-b
+b
\ No newline at end of file
`,
		},
		{
			name:    "no final newline in either, in the context",
			old:     "a\nb\nc",
			new:     "x\nb\nc",
			context: 3,
			want: `--- old
+++ new
@@ -1,3 +1,3 @@
-a
+x
 b
 c
\ No newline at end of file
`,
		},
		{
			name:    "identical",
			old:     "a\nb\n",
			new:     "a\nb\n",
			context: 3,
			want:    "",
		},
		{
			name:    "both empty",
			context: 3,
			want:    "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Unified("old", "new", []byte(tt.old), []byte(tt.new), tt.context)
			if string(got) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			if tt.want == "" && got != nil {
				t.Errorf("got %q, want nil", got)
			}
			if got != nil {
				checkApplies(t, got, []byte(tt.old), []byte(tt.new))
			}
		})
	}
}

// TestStdlibFile diffs a real 4000-line file against itself with a line
// inserted first and a few edits, the injector's usual case, and checks
// that it is fast and that the hunks number lines of the original.
func TestStdlibFile(t *testing.T) {
	old := serverGo(t)
	lines := splitLines(old)
	edited := [][]byte{[]byte("//line server.go:1\n")}
	for i, l := range lines {
		if i == 2000 || i == 2001 {
			edited = append(edited, []byte("\tottoolexecHook()\n"))
		}
		if i == 3000 {
			continue
		}
		edited = append(edited, l)
	}
	new := bytes.Join(edited, nil)

	start := time.Now()
	got := Unified("a/server.go", "b/server.go", old, new, 3)
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("took %v", elapsed)
	}
	checkApplies(t, got, old, new)
	headers := hunkHeaders(got)
	want := []string{"@@ -1,3 +1,4 @@", "@@ -1998,7 +1999,9 @@", "@@ -2998,7 +3001,6 @@"}
	if strings.Join(headers, "\n") != strings.Join(want, "\n") {
		t.Errorf("hunk headers %q, want %q", headers, want)
	}
}

// serverGo returns the standard library's net/http/server.go.
func serverGo(tb testing.TB) []byte {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		tb.Skipf("go env GOROOT: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(goroot)), "src", "net", "http", "server.go")
	text, err := os.ReadFile(path)
	if err != nil {
		tb.Skipf("no standard library source: %v", err)
	}
	return text
}

func hunkHeaders(diff []byte) []string {
	var headers []string
	for _, l := range strings.Split(string(diff), "\n") {
		if strings.HasPrefix(l, "@@") {
			headers = append(headers, l)
		}
	}
	return headers
}

// TestLargeFiles diffs 10k-line files with many edits, and a file against
// a complete rewrite of itself, each of which must take well under a
// second.
func TestLargeFiles(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	old := randomLines(r, 10000, 1000)
	edited := append([]string(nil), old...)
	for i := 0; i < 300; i++ {
		edited[r.Intn(len(edited))] = fmt.Sprintf("edit %d\n", i)
	}
	var rewritten []string
	for i := range old {
		rewritten = append(rewritten, fmt.Sprintf("rewritten %d\n", i))
	}
	for _, new := range [][]string{edited, rewritten} {
		start := time.Now()
		d := Unified("old", "new", join(old), join(new), 3)
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("took %v", elapsed)
		}
		checkApplies(t, d, join(old), join(new))
	}
}

func randomLines(r *rand.Rand, n, alphabet int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = "l" + strconv.Itoa(r.Intn(alphabet)) + "\n"
	}
	return lines
}

// TestApplyReproduces applies the diffs of random edits to the old text and
// expects the new one.
func TestApplyReproduces(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	n := 3000
	if testing.Short() {
		n = 500
	}
	for i := 0; i < n; i++ {
		old := randomLines(r, r.Intn(60), 1+r.Intn(20))
		new := append([]string(nil), old...)
		for e := r.Intn(6); e >= 0; e-- {
			at := r.Intn(len(new) + 1)
			switch r.Intn(3) {
			case 0:
				new = append(new[:at], append([]string{fmt.Sprintf("ins %d\n", e)}, new[at:]...)...)
			case 1:
				if at < len(new) {
					new = append(new[:at], new[at+1:]...)
				}
			case 2:
				if at < len(new) {
					new[at] = fmt.Sprintf("edit %d\n", e)
				}
			}
		}
		oldText, newText := join(old), join(new)
		// Now and then drop a final newline on one side or both.
		if r.Intn(4) == 0 {
			oldText = bytes.TrimSuffix(oldText, []byte("\n"))
		}
		if r.Intn(4) == 0 {
			newText = bytes.TrimSuffix(newText, []byte("\n"))
		}
		d := Unified("old", "new", oldText, newText, r.Intn(5))
		if bytes.Equal(oldText, newText) != (d == nil) {
			t.Fatalf("old %q new %q: diff %q", oldText, newText, d)
		}
		if d != nil {
			checkApplies(t, d, oldText, newText)
		}
	}
}

// TestShortest checks that the edit script is a shortest one: the lines it
// keeps are as many as a longest common subsequence, computed the slow way.
func TestShortest(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for i := 0; i < 20000; i++ {
		alphabet := 1 + r.Intn(4)
		a, b := randomLines(r, r.Intn(25), alphabet), randomLines(r, r.Intn(25), alphabet)
		changes := compareLines(splitLines(join(a)), splitLines(join(b)))
		kept := len(a)
		for _, c := range changes {
			kept -= c.oldEnd - c.oldStart
		}
		if want := lcsLength(a, b); kept != want {
			t.Fatalf("%q -> %q: kept %d lines, a longest common subsequence has %d", a, b, kept, want)
		}
	}
}

func lcsLength(a, b []string) int {
	next := make([]int, len(b)+1) // row i+1 of the table
	for i := len(a) - 1; i >= 0; i-- {
		row := make([]int, len(b)+1)
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				row[j] = next[j+1] + 1
			} else {
				row[j] = max(next[j], row[j+1])
			}
		}
		next = row
	}
	return next[0]
}

// checkApplies applies diff to old and fails t unless the result is new.
func checkApplies(t *testing.T, diff, old, new []byte) {
	t.Helper()
	got, err := apply(diff, old)
	if err != nil {
		t.Fatalf("applying\n%s\nto %q: %v", diff, old, err)
	}
	if !bytes.Equal(got, new) {
		t.Fatalf("applying\n%s\nto %q gives %q, want %q", diff, old, got, new)
	}
}

// apply is a strict patch: every hunk must start at the line its header
// says, its context and removed lines must match old exactly, and its
// counts must match its header.
func apply(diff, old []byte) ([]byte, error) {
	oldLines := splitLines(old)
	lines := strings.SplitAfter(string(diff), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "--- ") || !strings.HasPrefix(lines[1], "+++ ") {
		return nil, fmt.Errorf("no file header")
	}
	lines = lines[2 : len(lines)-1] // SplitAfter leaves an empty last element
	var out []byte
	next := 0    // index of the next old line not yet used
	written := 0 // lines of out
	for i := 0; i < len(lines); {
		var oldStart, oldCount, newStart, newCount int
		if _, err := fmt.Sscanf(lines[i], "@@ -%d,%d +%d,%d @@\n", &oldStart, &oldCount, &newStart, &newCount); err != nil {
			return nil, fmt.Errorf("line %q: %v", lines[i], err)
		}
		i++
		at := oldStart - 1 // 0-based index of the hunk's first line
		if oldCount == 0 {
			at = oldStart // an empty range is numbered after the line before it
		}
		if at < next || at > len(oldLines) {
			return nil, fmt.Errorf("hunk at old line %d, but line %d is already used", oldStart, next)
		}
		for ; next < at; next++ {
			out = append(out, oldLines[next]...)
			written++
		}
		wantStart := written + 1
		if newCount == 0 {
			wantStart = written
		}
		if newStart != wantStart {
			return nil, fmt.Errorf("hunk at new line %d, but it starts at %d", newStart, wantStart)
		}
		seenOld, seenNew := 0, 0
		for i < len(lines) && !strings.HasPrefix(lines[i], "@@") {
			prefix, text := lines[i][0], lines[i][1:]
			i++
			if i < len(lines) && lines[i] == "\\ No newline at end of file\n" {
				text = strings.TrimSuffix(text, "\n")
				i++
			}
			if prefix == ' ' || prefix == '-' {
				if next >= len(oldLines) || string(oldLines[next]) != text {
					return nil, fmt.Errorf("old line %d is not %q", next+1, text)
				}
				next++
				seenOld++
			}
			if prefix == ' ' || prefix == '+' {
				out = append(out, text...)
				written++
				seenNew++
			}
			if prefix != ' ' && prefix != '-' && prefix != '+' {
				return nil, fmt.Errorf("bad line %q", lines[i-1])
			}
		}
		if seenOld != oldCount || seenNew != newCount {
			return nil, fmt.Errorf("hunk -%d,%d +%d,%d has %d old and %d new lines", oldStart, oldCount, newStart, newCount, seenOld, seenNew)
		}
	}
	for ; next < len(oldLines); next++ {
		out = append(out, oldLines[next]...)
	}
	return out, nil
}

func BenchmarkStdlibFile(b *testing.B) {
	old := serverGo(b)
	new := append([]byte("//line server.go:1\n"), old...)
	new = bytes.Replace(new, []byte("func (c *conn) serve("), []byte("func (c *conn) serve0("), 1)
	for b.Loop() {
		Unified("a", "b", old, new, 3)
	}
}
