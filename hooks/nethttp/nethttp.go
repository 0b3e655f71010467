// Package nethttp traces the standard library's HTTP client and server.
//
// Client: every request sent through an http.Client (http.Get,
// http.DefaultClient, any Transport) passes through the unexported
// function send, which gets a prologue that starts a client span, gives the
// request a copy of its headers with the trace context added, and ends the
// span when the response body is read to the end or closed. The request
// itself stays the same value, since Transport.CancelRequest and callers
// comparing resp.Request go by its address.
//
// Server: every request served by an http.Server (http.ListenAndServe,
// httptest.Server, HTTP/1 and HTTP/2) passes through serverHandler.ServeHTTP,
// which gets a prologue that extracts the caller's trace context and starts
// a server span carried in the request's context, and an epilogue that tells
// a normal return from a panic. ServeMux.findHandler reports the matched
// pattern so the span is named after the route ("GET /users/{id}").
//
// The runtime half, which creates the spans, is the package in ./trace.
package nethttp

import (
	_ "embed"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_http.go.txt
var injectHTTP string

// Rule is the net/http integration.
var Rule = &hooks.Rule{
	Name:    "nethttp",
	Doc:     "net/http client and server spans, trace context in HTTP headers",
	Package: "net/http",
	Std:     true,
	Tested:  []string{"go1.26.8"},
	Funcs: []hooks.Func{
		{
			Name:      "send",
			Signature: "(ireq *Request, rt RoundTripper, deadline time.Time) (resp *Response, didTimeout func() bool, err error)",
			Prologue:  "if __ottoolexec_clientHook != nil { if __ottoolexec_end := __ottoolexec_clientHook(ireq, rt); __ottoolexec_end != nil { defer func() { resp, err = __ottoolexec_end(resp, err) }() } };",
		},
		{
			Recv:      "serverHandler",
			Name:      "ServeHTTP",
			Signature: "(rw ResponseWriter, req *Request)",
			// The span's context replaces req.ctx in place rather than
			// through WithContext: the server keeps using its own request
			// after the handler (to remove multipart temp files, say), so
			// handing the handler a copy would change what it sees.
			Prologue: "__ottoolexec_returned := false; if __ottoolexec_serverHook != nil { if __ottoolexec_ctx, __ottoolexec_end := __ottoolexec_serverHook(req, rw); __ottoolexec_end != nil { req.ctx = __ottoolexec_ctx; defer func() { __ottoolexec_end(__ottoolexec_status(rw), __ottoolexec_returned) }() } };",
			Epilogue: "; __ottoolexec_returned = true;",
		},
		{
			Recv:      "*ServeMux",
			Name:      "findHandler",
			Signature: "(r *Request) (h Handler, patStr string, _ *pattern, matches []string)",
			Prologue:  "if __ottoolexec_routeHook != nil { defer func() { if patStr != \"\" { __ottoolexec_routeHook(r, patStr) } }() };",
		},
	},
	Files:   []hooks.File{{Name: "http.go", Content: injectHTTP}},
	Runtime: []string{"github.com/ottoolexec/ottoolexec/hooks/nethttp/trace"},
}
