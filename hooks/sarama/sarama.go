// Package sarama traces Kafka producers and consumers built on
// github.com/IBM/sarama.
//
// Producers: SyncProducer.SendMessage and SendMessages start a producer
// span per message, a child of the calling goroutine's current span
// (sarama's API takes no context). Messages sent on an AsyncProducer's
// Input channel get theirs when the producer's dispatcher first sizes them
// (ProducerMessage.ByteSize), as roots: the sending goroutine is not known
// there. The trace context goes into a new header slice holding the
// program's headers too (only where the configured Kafka version takes
// headers); the span is kept in a field added to ProducerMessage and ends
// when the producer returns the message as a success (with its partition
// and offset) or an error.
//
// Consumers: every message a partition consumer (of a Consumer or of a
// ConsumerGroup's claims) puts on its Messages channel gets a consumer
// span following from the producer's, started as it is delivered. The
// program reads it from a plain Go channel, so the span cannot become the
// handler's current span; it ends when the program marks that message or a
// later one of its partition with ConsumerGroupSession.MarkMessage, or when
// the partition consumer closes (at the latest when a group session ends).
//
// The runtime half, shared with the other Kafka integrations, is
// hooks/kafkatrace.
package sarama

import (
	_ "embed"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_sarama.go.txt
var injectSarama string

const runtimeHalf = "github.com/ottoolexec/ottoolexec/hooks/kafkatrace"

// Rule is the sarama integration.
var Rule = &hooks.Rule{
	Name:    "sarama",
	Doc:     "Kafka (IBM/sarama) producer and consumer spans, trace context in message headers",
	Package: "github.com/IBM/sarama",
	Tested:  []string{"v1.50.3", "v1.61.1"},
	Funcs: []hooks.Func{
		{
			Recv:      "*syncProducer",
			Name:      "SendMessage",
			Signature: "(msg *ProducerMessage) (partition int32, offset int64, err error)",
			Prologue:  "if __ottoolexec_kafka.Enabled { sp.producer.__ottoolexec_start(msg) };",
		},
		{
			Recv:      "*syncProducer",
			Name:      "SendMessages",
			Signature: "(msgs []*ProducerMessage) error",
			Prologue:  "if __ottoolexec_kafka.Enabled { for _, __ottoolexec_m := range msgs { sp.producer.__ottoolexec_start(__ottoolexec_m) } };",
		},
		{
			Recv:      "*ProducerMessage",
			Name:      "ByteSize",
			Signature: "(version int) int",
			Prologue:  "if __ottoolexec_kafka.Enabled { m.__ottoolexec_startAsync(version >= 2) };",
		},
		{
			Recv:      "*asyncProducer",
			Name:      "returnError",
			Signature: "(msg *ProducerMessage, err error)",
			Prologue:  "if __ottoolexec_kafka.Enabled { __ottoolexec_ended([]*ProducerMessage{msg}, err) };",
		},
		{
			Recv:      "*asyncProducer",
			Name:      "returnErrors",
			Signature: "(batch []*ProducerMessage, err error)",
			Prologue:  "if __ottoolexec_kafka.Enabled { __ottoolexec_ended(batch, err) };",
		},
		{
			Recv:      "*asyncProducer",
			Name:      "returnSuccesses",
			Signature: "(batch []*ProducerMessage)",
			Prologue:  "if __ottoolexec_kafka.Enabled { __ottoolexec_ended(batch, nil) };",
		},
		{
			Recv:      "*partitionConsumer",
			Name:      "interceptors",
			Signature: "(msg *ConsumerMessage)",
			Prologue:  "if __ottoolexec_kafka.Enabled { child.__ottoolexec_deliver(msg) };",
		},
		{
			Recv:      "*partitionConsumer",
			Name:      "AsyncClose",
			Signature: "()",
			Prologue:  "if __ottoolexec_kafka.Enabled { child.__ottoolexec_trace.Close() };",
		},
		{
			Recv:      "*consumerGroupSession",
			Name:      "MarkMessage",
			Signature: "(msg *ConsumerMessage, metadata string)",
			Prologue:  "if __ottoolexec_kafka.Enabled && msg != nil && msg.__ottoolexec_consumer != nil { msg.__ottoolexec_consumer.Commit(msg.Topic, msg.Partition, msg.Offset, \"mark\") };",
		},
	},
	Fields: []hooks.Field{
		{Type: "ProducerMessage", Decl: "__ottoolexec_span *__ottoolexec_kafka.Producer"},
		{Type: "ConsumerMessage", Decl: "__ottoolexec_consumer *__ottoolexec_kafka.Consumer"},
		{Type: "partitionConsumer", Decl: "__ottoolexec_trace __ottoolexec_kafka.Consumer"},
	},
	Files:   []hooks.File{{Name: "sarama.go", Content: injectSarama}},
	Imports: map[string]string{"__ottoolexec_kafka": runtimeHalf},
}
