// Package kafkago traces Kafka producers and consumers built on
// github.com/segmentio/kafka-go.
//
// Writer.WriteMessages' prologue starts a producer span per message, parented
// by the span in its context (else the goroutine's current span), and writes
// copies of the messages whose headers are new arrays with the trace context
// added: the program's slice and header arrays are never changed. The span
// ends when the writer completes the message's batch (writeBatch.complete,
// which sees the partition and offset the broker gave it, for synchronous
// and Async writers alike), or with WriteMessages' error when the message
// never reached a batch or WriteMessages stopped waiting for it.
//
// Reader.FetchMessage (which ReadMessage calls) gets a consumer span per
// message it returns, following from the producer span in the message's
// headers. The span is the calling goroutine's current span while the
// program handles the message: it ends when that goroutine asks the reader
// for its next message, or when the reader closes. (Committing does not end
// it: ReadMessage commits before it returns the message.)
//
// The runtime half, shared with the other Kafka integrations, is
// hooks/kafkatrace.
package kafkago

import (
	_ "embed"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_kafkago.go.txt
var injectKafkaGo string

const runtimeHalf = "github.com/ottoolexec/ottoolexec/hooks/kafkatrace"

// Rule is the kafka-go integration.
var Rule = &hooks.Rule{
	Name:    "kafkago",
	Doc:     "Kafka (segmentio/kafka-go) producer and consumer spans, trace context in message headers",
	Package: "github.com/segmentio/kafka-go",
	Tested:  []string{"v0.4.42", "v0.4.51"},
	Funcs: []hooks.Func{
		{
			Recv:      "*Writer",
			Name:      "WriteMessages",
			Signature: "(ctx context.Context, msgs ...Message) error",
			Results:   []string{"__ottoolexec_err"},
			Prologue:  "if __ottoolexec_kafka.Enabled { var __ottoolexec_w __ottoolexec_write; msgs, __ottoolexec_w = w.__ottoolexec_produce(ctx, msgs); if __ottoolexec_w != nil { defer func() { __ottoolexec_w.done(__ottoolexec_err) }() } };",
		},
		{
			Recv:      "*writeBatch",
			Name:      "complete",
			Signature: "(err error)",
			Prologue:  "if __ottoolexec_kafka.Enabled { b.__ottoolexec_complete(err) };",
		},
		{
			Recv:      "*Reader",
			Name:      "FetchMessage",
			Signature: "(ctx context.Context) (Message, error)",
			Results:   []string{"__ottoolexec_msg", "__ottoolexec_err"},
			Prologue:  "if __ottoolexec_kafka.Enabled { r.__ottoolexec_trace.Next(); defer func() { if __ottoolexec_err == nil { r.__ottoolexec_fetched(&__ottoolexec_msg) } }() };",
		},
		{
			Recv:      "*Reader",
			Name:      "Close",
			Signature: "() error",
			Prologue:  "if __ottoolexec_kafka.Enabled { r.__ottoolexec_trace.Close() };",
		},
	},
	Fields:  []hooks.Field{{Type: "Reader", Decl: "__ottoolexec_trace __ottoolexec_kafka.Consumer"}},
	Files:   []hooks.File{{Name: "kafkago.go", Content: injectKafkaGo}},
	Imports: map[string]string{"__ottoolexec_kafka": runtimeHalf},
}
