// Package goroutine gives every goroutine a slot for the current span,
// inherited by the goroutines it starts, so that a client call made without
// a context (http.Get inside a handler, or in a goroutine the handler
// started) still finds its parent span.
//
// The slot is a field appended to the Go runtime's goroutine struct g: it
// is copied from the creating goroutine in newproc1 and cleared in gdestroy
// when the goroutine ends (a g is reused, and must not keep a finished span
// alive). A getter and a setter added to the runtime are pushed with
// //go:linkname; the runtime half, ../runtime/gls, pulls them. The slot
// holds an immutable value: setting it allocates a new one, so a child
// shares its parent's value at creation without any locking.
//
// If the runtime's source does not fit the rule (a Go version it was not
// written for), the build goes on without goroutine-local spans and says
// so once; spans then only follow contexts.
package goroutine

import (
	_ "embed"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_runtime.go.txt
var injectRuntime string

// Rule is the goroutine-local current span.
var Rule = &hooks.Rule{
	Name:    "goroutine",
	Doc:     "goroutine-local current span, inherited by child goroutines",
	Package: "runtime",
	Std:     true,
	Tested:  []string{"go1.26.8"},
	Fields:  []hooks.Field{{Type: "g", Decl: "__ottoolexec_gls unsafe.Pointer"}},
	Funcs: []hooks.Func{
		{
			Name:         "newproc1",
			Signature:    "(fn *funcval, callergp *g, callerpc uintptr, parked bool, waitreason waitReason) *g",
			BeforeReturn: "newg.__ottoolexec_gls = callergp.__ottoolexec_gls;",
		},
		{
			Name:      "gdestroy",
			Signature: "(gp *g)",
			Prologue:  "gp.__ottoolexec_gls = nil;",
		},
	},
	Files:   []hooks.File{{Name: "gls.go", Content: injectRuntime}},
	Runtime: []string{"github.com/ottoolexec/ottoolexec/runtime/gls"},
}
