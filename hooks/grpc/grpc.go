// Package grpc traces gRPC clients and servers built on
// google.golang.org/grpc.
//
// Client: every call, unary (ClientConn.Invoke, through invoke) or
// streaming (ClientConn.NewStream), creates its stream in the unexported
// newClientStream, which the library calls after the program's
// interceptors. Its prologue starts a client span, appends the trace
// context to the call's outgoing metadata (the program's own stays as it
// is) and hands the stream a context that leads back to the span. The
// stream's end passes through clientStream.finish, whatever ended it: the
// status a unary call or a stream's RecvMsg received, a failed send, the
// context being done. Its prologue ends the span with the status code and
// the server's address. A call whose stream could not be created ends in
// newClientStream.
//
// Server: every call a Server serves passes through Server.handleStream,
// before the program's interceptors. Its prologue starts a server span,
// child of the trace context in the incoming metadata, and makes the
// stream's context carry it (so the handler's ctx does), and the
// goroutine's current span be it, until the handler has returned and the
// status is written. The status comes from the second rule, grpc-status,
// whose prologue in the transport's ServerStream.WriteStatus records the
// code the server writes.
//
// Both splice points are unexported functions that v1.70.0 and v1.85.0
// share; a version whose declarations differ builds untouched, with a
// note.
//
// The runtime half, which makes the spans, is the package in ./trace.
package grpc

import (
	_ "embed"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_grpc.go.txt
var injectGRPC string

const runtimeHalf = "github.com/ottoolexec/ottoolexec/hooks/grpc/trace"

var tested = []string{"v1.70.0", "v1.85.0"}

// Rule is the gRPC client and server integration.
var Rule = &hooks.Rule{
	Name:    "grpc",
	Doc:     "gRPC client and server spans (unary and streaming), trace context in metadata",
	Package: "google.golang.org/grpc",
	Tested:  tested,
	Funcs: []hooks.Func{
		{
			Name:      "newClientStream",
			Signature: "(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, opts ...CallOption) (_ ClientStream, err error)",
			Prologue:  "if __ottoolexec_grpc.Enabled { var __ottoolexec_c *__ottoolexec_grpc.Client; if ctx, __ottoolexec_c = __ottoolexec_startClient(ctx, method); __ottoolexec_c != nil { defer func() { if err != nil { __ottoolexec_endClient(__ottoolexec_c, err, nil) } }() } };",
		},
		{
			Recv:      "*clientStream",
			Name:      "finish",
			Signature: "(err error)",
			Prologue:  "if __ottoolexec_grpc.Enabled { cs.__ottoolexec_finish(err) };",
		},
		{
			Recv:      "*Server",
			Name:      "handleStream",
			Signature: "(t transport.ServerTransport, stream *transport.ServerStream)",
			Prologue:  "if __ottoolexec_grpc.Enabled { if __ottoolexec_s := __ottoolexec_startServer(stream); __ottoolexec_s != nil { defer __ottoolexec_s.End() } };",
		},
	},
	Files:   []hooks.File{{Name: "grpc.go", Content: injectGRPC}},
	Imports: map[string]string{"__ottoolexec_grpc": runtimeHalf},
}

// StatusRule records the status a server writes for a call, for the
// server span that Rule started. The transport package is where both
// versions write it through one method (the server's handling of unary and
// streaming calls differs between them).
var StatusRule = &hooks.Rule{
	Name:    "grpc-status",
	Doc:     "with grpc: the status code a server writes goes on its server span",
	Package: "google.golang.org/grpc/internal/transport",
	Tested:  tested,
	Funcs: []hooks.Func{{
		Recv:      "*ServerStream",
		Name:      "WriteStatus",
		Signature: "(st *status.Status) error",
		Prologue:  "if __ottoolexec_grpcst.Enabled { __ottoolexec_grpcst.ServerStatus(s.Context(), uint32(st.Code()), st.Message()) };",
	}},
	Imports: map[string]string{"__ottoolexec_grpcst": runtimeHalf},
}
