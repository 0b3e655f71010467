package edit

import "testing"

func TestBuffer(t *testing.T) {
	b := NewBuffer([]byte("0123456789"))
	b.Insert(8, ",7½,")
	b.Replace(9, 10, "the-end")
	b.Insert(10, "!")
	b.Insert(3, "three,")
	b.Delete(3, 4)
	b.Insert(3, "(again)")
	got, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	const want = "012three,(again)4567,7½,8the-end!"
	if string(got) != want {
		t.Errorf("Bytes() = %q, want %q", got, want)
	}
}

func TestOverlap(t *testing.T) {
	b := NewBuffer([]byte("0123456789"))
	b.Replace(2, 5, "x")
	b.Replace(4, 6, "y")
	if _, err := b.Bytes(); err == nil {
		t.Fatal("Bytes() accepted overlapping edits")
	}
}
