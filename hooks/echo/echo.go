// Package echo names net/http server spans after the echo route that
// matched (github.com/labstack/echo/v4): "GET /users/:id".
//
// Echo.ServeHTTP (directly, or from inside the pre-middleware chain) has
// Router.Find look the request up; Find leaves the matched route template
// in the context's path (what Context.Path returns), groups' prefixes
// included. A deferred call in Find's prologue, a function in a file added
// to the package, reads it when Find is done. Find also leaves a path
// behind for a request that matched a route's path but not its method
// (405), or only a node on the way (404), so the span is renamed only when
// the router holds a route for the request's method and that path; any
// other request keeps the span's default name.
//
// No span is made here: the net/http server hook made the span, and
// runtime/spans.SetRoute renames it.
package echo

import (
	_ "embed"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_echo.go.txt
var injectEcho string

const spansPackage = "github.com/ottoolexec/ottoolexec/runtime/spans"

// Rule is the echo integration.
var Rule = &hooks.Rule{
	Name:    "echo",
	Doc:     "echo v4 routes name the net/http server span (GET /users/:id, http.route)",
	Package: "github.com/labstack/echo/v4",
	Tested:  []string{"v4.13.4", "v4.16.0"},
	Funcs: []hooks.Func{{
		Recv:      "*Router",
		Name:      "Find",
		Signature: "(method, path string, c Context)",
		// The added file names SetRoute through its argument: the import
		// goes into the file that changed, router.go, and must be used there.
		Prologue: "defer __ottoolexec_route(r, method, c, __ottoolexec_spans.SetRoute);",
	}},
	Files:   []hooks.File{{Name: "echo.go", Content: injectEcho}},
	Imports: map[string]string{"__ottoolexec_spans": spansPackage},
}
