// Package gorillamux names net/http server spans after the gorilla/mux
// route that matched (github.com/gorilla/mux): "GET /users/{id}".
//
// Router.ServeHTTP, once Router.Match has found a route, attaches it to
// the request with requestWithRoute (where mux.CurrentRoute finds it); it
// calls nothing else on that path, and only on a match. The prologue there
// names the span after the route's path template, which holds the
// prefixes of the routes above a subrouter. A route without a handler of
// its own is the route of a subrouter whose NotFoundHandler answered (a
// 404 below it): that one, like a route without a path template (Host
// only, say) and any request no route matched, keeps the span's default
// name.
//
// No span is made here: the net/http server hook made the span, and
// runtime/spans.SetRoute renames it.
package gorillamux

import "github.com/ottoolexec/ottoolexec/hooks"

const spansPackage = "github.com/ottoolexec/ottoolexec/runtime/spans"

// Rule is the gorilla/mux integration.
var Rule = &hooks.Rule{
	Name:    "gorillamux",
	Doc:     "gorilla/mux routes name the net/http server span (GET /users/{id}, http.route)",
	Package: "github.com/gorilla/mux",
	Tested:  []string{"v1.7.4", "v1.8.1"},
	Funcs: []hooks.Func{{
		Name:      "requestWithRoute",
		Signature: "(r *http.Request, route *Route) *http.Request",
		Prologue:  "if route != nil && route.handler != nil { if __ottoolexec_tpl, __ottoolexec_err := route.GetPathTemplate(); __ottoolexec_err == nil { __ottoolexec_spans.SetRoute(r.Context(), __ottoolexec_tpl) } };",
	}},
	Imports: map[string]string{"__ottoolexec_spans": spansPackage},
}
