// Package trace is the runtime half of the go-redis integration: the hook
// that ottoolexec adds to every go-redis v9 client calls it with plain
// values (a command's arguments, the client's DB number and address), and
// it turns them into OpenTracing client spans. It imports neither go-redis
// nor anything else outside the standard library, opentracing-go and
// ottoolexec's runtime, so ottoolexec never raises a user's go-redis
// version. Traced main packages import it; user code never needs to.
package trace

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/log"

	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

// Layer is the name under which a higher layer (an asynq producer span)
// marks a context or goroutine as covered (spans.Covered,
// spans.CoverGoroutine) so that the Redis commands it issues make no spans
// of their own.
const Layer = "go-redis"

const (
	component = "go-redis"
	where     = "go-redis"

	// Tags of pipeline spans: how many commands the pipeline (or
	// transaction, without its MULTI and EXEC) sent, and their names.
	TagPipelineLength   = "db.redis.pipeline_length"
	TagPipelineCommands = "db.redis.pipeline_commands"

	maxArg       = 64   // bytes of one argument in db.statement
	maxStatement = 1024 // bytes of a whole db.statement
	maxNames     = 64   // command names listed on a pipeline span
)

var (
	enabled  = !spans.Disabled()
	showArgs = boolEnv("OTTOOLEXEC_REDIS_ARGS")
)

func boolEnv(key string) bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(key))) {
	case "1", "t", "true", "on", "yes", "y":
		return true
	}
	return false
}

// Enabled reports whether go-redis clients get the tracing hook at all;
// with OTTOOLEXEC_DISABLED set they behave as if built without ottoolexec.
func Enabled() bool { return enabled }

// Traced reports whether a command issued with ctx gets a span: not when
// a go-redis span (or a layer above, such as an asynq producer) already
// covers it. Hooks call it before collecting a pipeline's arguments.
func Traced(ctx context.Context) bool {
	return enabled && !spans.IsCovered(ctx, Layer)
}

// StartCommand starts the span of one command, whose arguments (name
// first) are args, on a client using database db. It returns the context
// for the rest of the command (carrying the span, and marked covered so
// that nested clients do not trace the same command again) and the span,
// or nil when the command is not traced.
func StartCommand(ctx context.Context, args []interface{}, db int) (context.Context, opentracing.Span) {
	defer spans.Guard(where)
	if !Traced(ctx) {
		return ctx, nil
	}
	name := strings.ToUpper(argString(args, 0))
	if name == "" {
		name = "REDIS"
	}
	span := start(ctx, name, db)
	spans.DBStatement.Set(span, statement(args))
	return withSpan(ctx, span), span
}

// StartPipeline starts the span of a pipeline, one argument list per
// command. A transaction (MULTI ... EXEC, as TxPipelined sends it) is named
// MULTI, a plain pipeline PIPELINE; the tags count and name the commands
// between MULTI and EXEC.
func StartPipeline(ctx context.Context, cmds [][]interface{}, db int) (context.Context, opentracing.Span) {
	defer spans.Guard(where)
	if !Traced(ctx) {
		return ctx, nil
	}
	name := "PIPELINE"
	if n := len(cmds); n >= 2 && strings.EqualFold(argString(cmds[0], 0), "multi") && strings.EqualFold(argString(cmds[n-1], 0), "exec") {
		name = "MULTI"
		cmds = cmds[1 : n-1]
	}
	span := start(ctx, name, db)
	var names, stmt strings.Builder
	for i, args := range cmds {
		if i < maxNames {
			if i > 0 {
				names.WriteByte(' ')
			}
			names.WriteString(strings.ToUpper(argString(args, 0)))
		} else if i == maxNames {
			names.WriteString(" ...")
		}
		if stmt.Len() < maxStatement {
			if i > 0 {
				stmt.WriteString("\n")
			}
			stmt.WriteString(statement(args))
		}
	}
	span.SetTag(TagPipelineLength, len(cmds))
	span.SetTag(TagPipelineCommands, names.String())
	spans.DBStatement.Set(span, truncate(stmt.String(), maxStatement))
	return withSpan(ctx, span), span
}

func start(ctx context.Context, name string, db int) opentracing.Span {
	opts := []opentracing.StartSpanOption{opentracing.Tag{Key: string(spans.SpanKind), Value: "client"}}
	if parent := spans.Current(ctx); parent != nil {
		opts = append(opts, opentracing.ChildOf(parent.Context()))
	}
	span := spans.Tracer().StartSpan(name, opts...)
	spans.Component.Set(span, component)
	spans.DBType.Set(span, "redis")
	spans.DBInstance.Set(span, strconv.Itoa(db))
	return span
}

func withSpan(ctx context.Context, span opentracing.Span) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	return opentracing.ContextWithSpan(spans.Covered(ctx, Layer), span)
}

// Finish ends span (nil is allowed). addr is the server the client talks
// to; err the command's or pipeline's error, which flags the span unless
// it is Redis's nil reply (isNil: a missing key is an answer, not a
// failure).
func Finish(span opentracing.Span, addr string, err error, isNil bool) {
	if span == nil {
		return
	}
	defer spans.Guard(where)
	if addr != "" {
		spans.PeerAddress.Set(span, addr)
	}
	if err != nil && !isNil {
		spans.Error.Set(span, true)
		span.LogFields(log.String("event", "error"), log.String("message", err.Error()))
	}
	span.Finish()
}

// statement renders a command for db.statement: its name and, when it
// has one, its key (the first argument for almost every command, the
// subcommand for CLIENT, CONFIG...). With OTTOOLEXEC_REDIS_ARGS=1 every
// argument is shown, each cut to a few dozen bytes. Arguments that carry
// credentials (AUTH, HELLO ... AUTH, MIGRATE ... AUTH, ACL SETUSER, CONFIG
// SET of a password) are never shown.
func statement(args []interface{}) string {
	if len(args) == 0 {
		return ""
	}
	name := strings.ToUpper(argString(args, 0))
	secretFrom := secretArgs(name, args)
	if !showArgs {
		if k := keyIndex(name, args); k > 0 && k < secretFrom {
			return name + " " + truncate(argString(args, k), maxArg)
		}
		return name
	}
	var b strings.Builder
	b.WriteString(name)
	for i := 1; i < len(args) && b.Len() < maxStatement; i++ {
		b.WriteByte(' ')
		if i >= secretFrom {
			b.WriteByte('?')
			continue
		}
		b.WriteString(truncate(argString(args, i), maxArg))
	}
	return truncate(b.String(), maxStatement)
}

// keyIndex returns the index of the key shown in db.statement, or 0 for
// none: scripts and functions name their keys after the script and the
// key count.
func keyIndex(name string, args []interface{}) int {
	switch name {
	case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
		if n, err := strconv.Atoi(argString(args, 2)); err == nil && n > 0 && len(args) > 3 {
			return 3
		}
		return 0
	}
	if len(args) > 1 {
		return 1
	}
	return 0
}

// secretArgs returns the index of the first argument of args that may be
// a credential, or len(args) when none is.
func secretArgs(name string, args []interface{}) int {
	switch name {
	case "AUTH":
		return 1
	case "HELLO", "MIGRATE":
		// HELLO [protover [AUTH user pass] [SETNAME name]],
		// MIGRATE ... [AUTH pass | AUTH2 user pass] [KEYS ...].
		for i := 1; i < len(args); i++ {
			a := strings.ToUpper(argString(args, i))
			if a == "AUTH" || a == "AUTH2" {
				return i + 1
			}
		}
	case "ACL":
		if strings.EqualFold(argString(args, 1), "setuser") {
			return 3 // ACL SETUSER name, then rules with passwords
		}
	case "CONFIG":
		if strings.EqualFold(argString(args, 1), "set") {
			return 3 // CONFIG SET parameter value...: requirepass, masterauth
		}
	}
	return len(args)
}

// argString renders argument i of args as go-redis would send it.
func argString(args []interface{}, i int) string {
	if i >= len(args) {
		return ""
	}
	switch v := args[i].(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case nil:
		return ""
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case fmt.Stringer:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
