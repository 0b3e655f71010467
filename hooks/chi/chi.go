// Package chi names net/http server spans after the chi route that
// matched (github.com/go-chi/chi/v5): "GET /users/{id}".
//
// Every router of a chi tree, the outer one and each one mounted below it
// (Mount, Route), looks the request up with node.FindRoute, which appends
// the part of the pattern it matched to the route context. A deferred
// prologue there reads the full pattern (RoutePattern joins the parts) once
// a router finds an endpoint; when the match is only the stub that leads
// into a mounted router, it waits for that router, so a request that no
// route matches in the end (404, 405) keeps the server span's default name.
// The request's context, where the server span is, is the route context's
// parentCtx: FindRoute only sees the route context, and chi's Mux.ServeHTTP
// sets parentCtx to the request's context before it routes.
//
// No span is made here: the net/http server hook made the span, and
// runtime/spans.SetRoute renames it.
package chi

import "github.com/ottoolexec/ottoolexec/hooks"

const spansPackage = "github.com/ottoolexec/ottoolexec/runtime/spans"

// Rule is the chi integration.
var Rule = &hooks.Rule{
	Name:    "chi",
	Doc:     "chi v5 routes name the net/http server span (GET /users/{id}, http.route)",
	Package: "github.com/go-chi/chi/v5",
	Tested:  []string{"v5.2.5", "v5.5.0"},
	Funcs: []hooks.Func{{
		Recv:      "*node",
		Name:      "FindRoute",
		Signature: "(rctx *Context, method methodTyp, path string) (*node, endpoints, http.Handler)",
		Results:   []string{"__ottoolexec_node", "__ottoolexec_endpoints", "__ottoolexec_handler"},
		Prologue:  "defer func() { if __ottoolexec_handler != nil && __ottoolexec_endpoints[mSTUB] == nil && rctx != nil && rctx.parentCtx != nil { __ottoolexec_spans.SetRoute(rctx.parentCtx, rctx.RoutePattern()) } }();",
	}},
	Imports: map[string]string{"__ottoolexec_spans": spansPackage},
}
