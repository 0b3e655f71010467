// Package nats traces NATS clients built on github.com/nats-io/nats.go.
//
// Every message a connection sends passes through the unexported
// Conn.publish, whatever made it: Publish, PublishMsg, PublishRequest,
// Msg.Respond, and the requests below. Its prologue starts a producer span
// and hands the library a new header block holding the program's headers
// and the trace context (the program's Msg and Header are never changed;
// a server without header support gets the message as it was, and the
// span is still made).
//
// Every request passes through Conn.request or Conn.requestWithContext
// (Request, RequestMsg, RequestWithContext, RequestMsgWithContext, and so
// the synchronous JetStream publishes of both the legacy JetStreamContext
// and the jetstream package, which are requests whose reply is the
// acknowledgement). Their prologue starts one producer span for the whole
// round trip, injects its context the same way, and tells the publish it
// makes (through the identity of the header block) not to start a span of
// its own. A request is a message that the responders' consumer spans
// follow from, hence producer rather than client.
//
// Asynchronous subscriptions (Subscribe, QueueSubscribe, and the legacy
// JetStream push subscriptions with a callback) are all made by
// Conn.subscribeLocked: its prologue wraps the callback so that each
// message gets a consumer span, current on the delivering goroutine while
// the callback runs. NextMsg and NextMsgWithContext start a consumer span
// for the message they return; it ends at the next call, at a JetStream
// acknowledgement of that message (Msg.ackReply), when the subscription
// is removed (Conn.removeSub) or the connection closes (Conn.close).
//
// The runtime half, which makes the spans, is the package in ./trace.
package nats

import (
	_ "embed"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_nats.go.txt
var injectNATS string

const runtimeHalf = "github.com/ottoolexec/ottoolexec/hooks/nats/trace"

// requestPrologue starts a request's span; ctx is the context expression
// ("nil" for the variant without one).
func requestPrologue(ctx string) string {
	return "if __ottoolexec_nats.Enabled { var __ottoolexec_op __ottoolexec_nats.Op; hdr, __ottoolexec_op = nc.__ottoolexec_request(" + ctx + ", subj, hdr); if __ottoolexec_op.Started() { defer func() { __ottoolexec_replied(__ottoolexec_op, __ottoolexec_m, __ottoolexec_err) }() } };"
}

// nextPrologue ends the previous NextMsg span of the subscription and
// starts the one of the message returned.
const nextPrologue = "if __ottoolexec_nats.Enabled && s != nil { s.__ottoolexec_trace.Next(); defer func() { if __ottoolexec_err == nil { s.__ottoolexec_received(__ottoolexec_m) } }() };"

// Rule is the NATS (nats.go) integration.
var Rule = &hooks.Rule{
	Name:    "nats",
	Doc:     "NATS (nats.go) producer spans for publishes and requests, consumer spans for subscriptions, trace context in message headers",
	Package: "github.com/nats-io/nats.go",
	Tested:  []string{"v1.49.0", "v1.55.0"},
	Funcs: []hooks.Func{
		{
			Recv:      "*Conn",
			Name:      "publish",
			Signature: "(subj, reply string, validateReply bool, hdr, data []byte) error",
			Results:   []string{"__ottoolexec_err"},
			Prologue:  "if __ottoolexec_nats.Enabled { var __ottoolexec_op __ottoolexec_nats.Op; hdr, __ottoolexec_op = nc.__ottoolexec_publish(subj, reply, hdr); if __ottoolexec_op.Started() { defer func() { __ottoolexec_op.End(__ottoolexec_err) }() } };",
		},
		{
			Recv:      "*Conn",
			Name:      "request",
			Signature: "(subj string, hdr, data []byte, timeout time.Duration) (*Msg, error)",
			Results:   []string{"__ottoolexec_m", "__ottoolexec_err"},
			Prologue:  requestPrologue("nil"),
		},
		{
			Recv:      "*Conn",
			Name:      "requestWithContext",
			Signature: "(ctx context.Context, subj string, hdr, data []byte) (*Msg, error)",
			Results:   []string{"__ottoolexec_m", "__ottoolexec_err"},
			Prologue:  requestPrologue("ctx"),
		},
		{
			Recv:      "*Conn",
			Name:      "subscribeLocked",
			Signature: "(subj, queue string, cb MsgHandler, ch chan *Msg, errCh chan (error), isSync bool, js *jsSub) (*Subscription, error)",
			Prologue:  "if __ottoolexec_nats.Enabled && nc != nil { cb = nc.__ottoolexec_handler(subj, queue, cb) };",
		},
		{
			Recv:      "*Subscription",
			Name:      "NextMsg",
			Signature: "(timeout time.Duration) (*Msg, error)",
			Results:   []string{"__ottoolexec_m", "__ottoolexec_err"},
			Prologue:  nextPrologue,
		},
		{
			Recv:      "*Subscription",
			Name:      "NextMsgWithContext",
			Signature: "(ctx context.Context) (*Msg, error)",
			Results:   []string{"__ottoolexec_m", "__ottoolexec_err"},
			Prologue:  nextPrologue,
		},
		{
			Recv:      "*Msg",
			Name:      "ackReply",
			Signature: "(ackType []byte, sync bool, opts ...AckOpt) error",
			Prologue:  "if __ottoolexec_nats.Enabled { m.__ottoolexec_acked(ackType) };",
		},
		{
			Recv:      "*Conn",
			Name:      "removeSub",
			Signature: "(s *Subscription)",
			Prologue:  "if __ottoolexec_nats.Enabled && s != nil { s.__ottoolexec_trace.Closed() };",
		},
		{
			Recv:      "*Conn",
			Name:      "close",
			Signature: "(status Status, doCBs bool, err error)",
			Prologue:  "if __ottoolexec_nats.Enabled && nc != nil { nc.__ottoolexec_closing() };",
		},
	},
	Fields: []hooks.Field{
		{Type: "Conn", Decl: "__ottoolexec_trace __ottoolexec_nats.Conn"},
		{Type: "Subscription", Decl: "__ottoolexec_trace __ottoolexec_nats.Sub"},
	},
	Files:   []hooks.File{{Name: "nats.go", Content: injectNATS}},
	Imports: map[string]string{"__ottoolexec_nats": runtimeHalf},
}
