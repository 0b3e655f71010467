// Package gls connects the goroutine-local span slot that the goroutine
// rule adds to the Go runtime (hooks/goroutine) to runtime/spans. Traced
// main packages import it when that rule fits the toolchain; without it,
// spans follow contexts only.
package gls

import (
	"unsafe"

	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

// Pushed from the runtime by the file hooks/goroutine adds to it.

//go:linkname get runtime.__ottoolexec_getgls
func get() unsafe.Pointer

//go:linkname set runtime.__ottoolexec_setgls
func set(p unsafe.Pointer)

func init() {
	if spans.Disabled() {
		return
	}
	spans.UseGoroutineSlot(get, set)
}
