// Package franzgo traces Kafka producers and consumers built on franz-go's
// client, github.com/twmb/franz-go/pkg/kgo.
//
// Every record given to Produce, TryProduce or ProduceSync passes through
// the unexported Client.produce: its prologue starts a producer span, a
// child of the span in the call's context (else the goroutine's current
// span), gives the record a new header slice with the program's headers
// and the trace context, and wraps the promise so that the span ends with
// the record's partition and offset, or its error, before the program's
// promise runs.
//
// PollRecords (which PollFetches calls) gets a consumer span per record it
// returns, following from the producer span in the record's headers. A
// poll returns many records at once, so none becomes the goroutine's
// current span; they end when the program polls again, commits or marks
// them (CommitRecords, MarkCommitRecords: that record and the earlier ones
// of its partition), or closes the client.
//
// The runtime half, shared with the other Kafka integrations, is
// hooks/kafkatrace.
package franzgo

import (
	_ "embed"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_franzgo.go.txt
var injectFranzGo string

const runtimeHalf = "github.com/ottoolexec/ottoolexec/hooks/kafkatrace"

// Rule is the franz-go integration.
var Rule = &hooks.Rule{
	Name:    "franzgo",
	Doc:     "Kafka (franz-go kgo) producer and consumer spans, trace context in record headers",
	Package: "github.com/twmb/franz-go/pkg/kgo",
	Tested:  []string{"v1.22.3"},
	Funcs: []hooks.Func{
		{
			Recv:      "*Client",
			Name:      "produce",
			Signature: "(ctx context.Context, r *Record, promise func(*Record, error), block bool)",
			Prologue:  "if __ottoolexec_kafka.Enabled { promise = cl.__ottoolexec_produce(ctx, r, promise) };",
		},
		{
			Recv:      "*Client",
			Name:      "PollRecords",
			Signature: "(ctx context.Context, maxPollRecords int) Fetches",
			Results:   []string{"__ottoolexec_fs"},
			Prologue:  "if __ottoolexec_kafka.Enabled { cl.__ottoolexec_trace.EndAll(\"next\"); defer func() { cl.__ottoolexec_polled(__ottoolexec_fs) }() };",
		},
		{
			Recv:      "*Client",
			Name:      "CommitRecords",
			Signature: "(ctx context.Context, rs ...*Record) error",
			Prologue:  "if __ottoolexec_kafka.Enabled { cl.__ottoolexec_commit(rs, \"commit\") };",
		},
		{
			Recv:      "*Client",
			Name:      "MarkCommitRecords",
			Signature: "(rs ...*Record)",
			Prologue:  "if __ottoolexec_kafka.Enabled { cl.__ottoolexec_commit(rs, \"mark\") };",
		},
		{
			Recv:      "*Client",
			Name:      "Close",
			Signature: "()",
			Prologue:  "if __ottoolexec_kafka.Enabled { cl.__ottoolexec_trace.Close() };",
		},
	},
	Fields:  []hooks.Field{{Type: "Client", Decl: "__ottoolexec_trace __ottoolexec_kafka.Consumer"}},
	Files:   []hooks.File{{Name: "franzgo.go", Content: injectFranzGo}},
	Imports: map[string]string{"__ottoolexec_kafka": runtimeHalf},
}
