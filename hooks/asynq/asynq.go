// Package asynq traces github.com/hibiken/asynq, Go's Redis-backed task
// queue.
//
// Client.EnqueueContext (which Enqueue calls) gets a producer span named
// after the task type; the trace context travels in the task's headers,
// in a copy of the task. processor.perform, which runs a task's handler in
// a worker goroutine, gets a consumer span that follows from the
// producer's. The Redis commands asynq sends for an enqueue are covered by
// its producer span, and those a Server or Scheduler sends from its own
// goroutines (polling, heartbeats, leases) are not traced, unless
// OTTOOLEXEC_ASYNQ_REDIS=1 asks for them. The runtime half is in ./trace.
package asynq

import (
	_ "embed"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_asynq.go.txt
var injectAsynq string

const tracePackage = "github.com/ottoolexec/ottoolexec/hooks/asynq/trace"

// coverBackground marks the goroutines a Server or Scheduler starts (and
// the Redis commands of shutting down) as asynq's own work.
const coverBackground = "defer __ottoolexec_asynq.CoverBackground()();"

// Rule is the asynq integration.
var Rule = &hooks.Rule{
	Name:    "asynq",
	Doc:     "asynq producer and consumer spans, trace context in task headers",
	Package: "github.com/hibiken/asynq",
	Tested:  []string{"v0.26.0"},
	Funcs: []hooks.Func{
		{
			// The function marks the versions with task headers (v0.26
			// on), which the trace context travels in; older versions do
			// not fit and stay untouched. Its prologue only mentions the
			// runtime half, whose import the injector adds to this file
			// as to every file it changes.
			Name:      "NewTaskWithHeaders",
			Signature: "(typename string, payload []byte, headers map[string]string, opts ...Option) *Task",
			Prologue:  "_ = __ottoolexec_asynq.Enabled;",
		},
		{
			Recv:      "*Client",
			Name:      "EnqueueContext",
			Signature: "(ctx context.Context, task *Task, opts ...Option) (*TaskInfo, error)",
			Results:   []string{"__ottoolexec_info", "__ottoolexec_err"},
			Prologue:  "if __ottoolexec_asynq.Enabled() && task != nil { var __ottoolexec_end func(*TaskInfo, error); ctx, task, __ottoolexec_end = __ottoolexec_produce(ctx, task, opts); defer func() { __ottoolexec_end(__ottoolexec_info, __ottoolexec_err) }() };",
		},
		{
			Recv:      "*processor",
			Name:      "perform",
			Signature: "(ctx context.Context, task *Task) (err error)",
			// Deferred first, so it runs after perform's own recover has
			// turned a handler's panic into err.
			Prologue: "if __ottoolexec_asynq.Enabled() && task != nil { var __ottoolexec_end func(error); ctx, __ottoolexec_end = __ottoolexec_consume(ctx, task); defer func() { __ottoolexec_end(err) }() };",
		},
		{Recv: "*Server", Name: "Start", Signature: "(handler Handler) error", Prologue: coverBackground},
		{Recv: "*Server", Name: "Shutdown", Signature: "()", Prologue: coverBackground},
		{Recv: "*Server", Name: "Stop", Signature: "()", Prologue: coverBackground},
		{Recv: "*Scheduler", Name: "Start", Signature: "() error", Prologue: coverBackground},
		{Recv: "*Scheduler", Name: "Shutdown", Signature: "()", Prologue: coverBackground},
	},
	Files:   []hooks.File{{Name: "asynq.go", Content: injectAsynq}},
	Imports: map[string]string{"__ottoolexec_asynq": tracePackage},
}
