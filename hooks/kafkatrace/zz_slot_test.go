package kafkatrace

import (
	"testing"
	"unsafe"

	"github.com/ottoolexec/ottoolexec/runtime/spans"
	"github.com/ottoolexec/ottoolexec/runtime/spans/spanstest"
)

// TestCurrentSpan gives the package a goroutine slot (a plain variable:
// the test runs on one goroutine) and checks that a delivered span is the
// goroutine's current span until Next, which puts the previous one back.
// The slot cannot be removed again, so this file's name sorts it after
// the tests that need no slot.
func TestCurrentSpan(t *testing.T) {
	tr := spanstest.UseMock(t)
	var slot unsafe.Pointer
	spans.UseGoroutineSlot(func() unsafe.Pointer { return slot }, func(p unsafe.Pointer) { slot = p })
	outer := tr.StartSpan("handler")
	restore := spans.SetGoroutineSpan(outer)
	defer restore()

	var c Consumer
	first := StartConsumer("test", Message{Topic: "t", Offset: 1})
	c.Deliver(first, "t", 0, 1, true)
	if spans.GoroutineSpan() != first {
		t.Fatal("the delivered span is not the goroutine's current span")
	}
	// Another consumer's span, not current: Next leaves it open.
	var other Consumer
	other.Deliver(StartConsumer("test", Message{Topic: "u"}), "u", 0, 0, false)
	c.Next()
	other.Next()
	if spans.GoroutineSpan() != outer {
		t.Errorf("after Next the goroutine's span is %v, want the handler's", spans.GoroutineSpan())
	}
	if got := tr.FinishedSpans(); len(got) != 1 || got[0].Tag(TagEnd) != "next" || got[0].OperationName != "kafka.consume t" {
		t.Errorf("finished %v, want the first consumer span only", got)
	}
	other.Close()
}
