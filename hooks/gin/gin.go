// Package gin names net/http server spans after the gin route that
// matched (github.com/gin-gonic/gin): "GET /users/:id".
//
// Engine.handleHTTPRequest looks the request up in the engine's trees and
// keeps the matched route template in the context's full path (what
// Context.FullPath returns), groups' prefixes included. A deferred
// prologue there names the span once the handlers are done and before the
// server ends the span; gin leaves the full path empty when no route
// matched (404, 405), and the span then keeps its default name. The
// context of the request as gin received it, taken on entry, is where the
// server span is, whatever handlers do to c.Request later.
//
// No span is made here: the net/http server hook made the span, and
// runtime/spans.SetRoute renames it.
package gin

import "github.com/ottoolexec/ottoolexec/hooks"

const spansPackage = "github.com/ottoolexec/ottoolexec/runtime/spans"

// Rule is the gin integration.
var Rule = &hooks.Rule{
	Name:    "gin",
	Doc:     "gin routes name the net/http server span (GET /users/:id, http.route)",
	Package: "github.com/gin-gonic/gin",
	Tested:  []string{"v1.10.1", "v1.12.0"},
	Funcs: []hooks.Func{{
		Recv:      "*Engine",
		Name:      "handleHTTPRequest",
		Signature: "(c *Context)",
		Prologue:  "if __ottoolexec_req := c.Request; __ottoolexec_req != nil { defer func() { if c.fullPath != \"\" { __ottoolexec_spans.SetRoute(__ottoolexec_req.Context(), c.fullPath) } }() };",
	}},
	Imports: map[string]string{"__ottoolexec_spans": spansPackage},
}
