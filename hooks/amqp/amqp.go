// Package amqp traces RabbitMQ clients built on
// github.com/rabbitmq/amqp091-go.
//
// Every method a Channel sends passes through the unexported Channel.send:
// its prologue starts a producer span for a basic.publish (whichever of the
// Publish functions made it) and gives the frame a copy of the headers with
// the trace context added, notes which queue each basic.consume reads, and
// ends consumer spans on basic.ack, basic.nack and basic.reject. Deliveries
// to consumers pass through Channel.dispatch, whose prologue starts their
// consumer spans; Get's prologue does the same for the delivery it returns
// and makes its span the calling goroutine's current span. Channel.shutdown
// ends the spans of deliveries that were never acknowledged.
//
// A second rule, amqp-context, gives the context variants of Publish a
// prologue, because recent versions drop the context on the way to send: it
// hands the context's span to the send through the publishing's own copy of
// its headers. It is a rule of its own because some versions have no
// context to read (v1.2.0 predates these functions; v1.10.0 declares the
// parameter as _ and ignores it): those get the amqp integration without
// it, and a note saying so.
//
// The runtime half, which makes the spans, is the package in ./trace.
package amqp

import (
	_ "embed"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_amqp.go.txt
var injectAMQP string

const runtimeHalf = "github.com/ottoolexec/ottoolexec/hooks/amqp/trace"

// Rule is the RabbitMQ (amqp091-go) integration.
var Rule = &hooks.Rule{
	Name:    "amqp",
	Doc:     "RabbitMQ (amqp091-go) producer and consumer spans, trace context in message headers",
	Package: "github.com/rabbitmq/amqp091-go",
	Tested:  []string{"v1.2.0", "v1.9.0", "v1.16.0"},
	Funcs: []hooks.Func{
		{
			Recv:      "*Channel",
			Name:      "send",
			Signature: "(msg message) (err error)",
			Prologue:  "if __ottoolexec_amqp.Enabled { if __ottoolexec_p := ch.__ottoolexec_send(msg); __ottoolexec_p.Started() { defer func() { __ottoolexec_p.End(err) }() } };",
		},
		{
			Recv:      "*Channel",
			Name:      "dispatch",
			Signature: "(msg message)",
			Prologue:  "if __ottoolexec_amqp.Enabled { ch.__ottoolexec_dispatch(msg) };",
		},
		{
			Recv:      "*Channel",
			Name:      "Get",
			Signature: "(queue string, autoAck bool) (msg Delivery, ok bool, err error)",
			Prologue:  "if __ottoolexec_amqp.Enabled { __ottoolexec_start := __ottoolexec_amqp.Now(); defer func() { if ok { ch.__ottoolexec_got(queue, autoAck, __ottoolexec_start, &msg) } }() };",
		},
		{
			Recv:      "*Channel",
			Name:      "shutdown",
			Signature: "(e *Error)",
			Prologue:  "if __ottoolexec_amqp.Enabled { ch.__ottoolexec_trace.Closed() };",
		},
	},
	Fields:  []hooks.Field{{Type: "Channel", Decl: "__ottoolexec_trace __ottoolexec_amqp.Channel"}},
	Files:   []hooks.File{{Name: "amqp.go", Content: injectAMQP}},
	Imports: map[string]string{"__ottoolexec_amqp": runtimeHalf},
}

// ContextRule makes the span in the context given to PublishWithContext and
// PublishWithDeferredConfirmWithContext the parent of the publishing's
// producer span. Its import name differs from Rule's, since both rules add
// their import to channel.go.
var ContextRule = &hooks.Rule{
	Name:    "amqp-context",
	Doc:     "with amqp: the span in the context given to PublishWithContext is the producer span's parent",
	Package: "github.com/rabbitmq/amqp091-go",
	Tested:  []string{"v1.9.0", "v1.16.0"},
	Funcs: []hooks.Func{
		{
			Recv:      "*Channel",
			Name:      "PublishWithContext",
			Signature: "(ctx context.Context, exchange, key string, mandatory, immediate bool, msg Publishing) error",
			Prologue:  publishContext,
		},
		{
			Recv:      "*Channel",
			Name:      "PublishWithDeferredConfirmWithContext",
			Signature: "(ctx context.Context, exchange, key string, mandatory, immediate bool, msg Publishing) (*DeferredConfirmation, error)",
			Prologue:  publishContext,
		},
	},
	Imports: map[string]string{"__ottoolexec_amqpctx": runtimeHalf},
}

// publishContext hands the context's span to the send (see the package
// comment). msg is the function's own copy of the Publishing, so giving it
// another header table changes nothing the caller sees.
const publishContext = "if __ottoolexec_amqpctx.Enabled { if __ottoolexec_h, __ottoolexec_done := __ottoolexec_amqpctx.WithContext(ctx, msg.Headers); __ottoolexec_done != nil { msg.Headers = __ottoolexec_h; defer __ottoolexec_done() } };"
