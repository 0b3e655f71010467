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
	showArgs = spans.EnvFlag("OTTOOLEXEC_REDIS_ARGS")
)

// Enabled reports whether go-redis clients get the tracing hook at all;
// with OTTOOLEXEC_DISABLED set they behave as if built without ottoolexec.
func Enabled() bool { return enabled }

// Traced reports whether a command issued with ctx gets a span: not when
// a go-redis span (or a layer above, such as an asynq producer) already
// covers it. Hooks call it before collecting a pipeline's arguments.
func Traced(ctx context.Context) bool {
	return enabled && !spans.IsCovered(ctx, Layer)
}

// Client is what a go-redis client's hook knows of it, prepared once per
// client so that a command's span costs no formatting or boxing of it.
type Client struct {
	instance any // db.instance, boxed once
}

// NewClient prepares the spans of a client using database db.
func NewClient(db int) *Client {
	return &Client{instance: strconv.Itoa(db)}
}

// Command is one traced command: the context handed to the rest of the
// command (carrying the span, covered by go-redis) and the start options
// of its span, in one allocation.
type Command struct {
	spans.CoveredContext
	opts      [1]opentracing.StartSpanOption
	parent    opentracing.SpanContext
	instance  any
	statement string
	peer      any
}

// commandTags is the most tags a command span starts with.
const commandTags = 6

// Apply sets every start option of a command span at once: one map sized
// for all its tags, so that the tracer sizes the span's tags once too.
func (c *Command) Apply(o *opentracing.StartSpanOptions) {
	if c.parent != nil {
		opentracing.ChildOf(c.parent).Apply(o)
	}
	if o.Tags == nil {
		o.Tags = make(map[string]any, commandTags)
	}
	o.Tags[string(spans.SpanKind)] = "client"
	o.Tags[string(spans.Component)] = component
	o.Tags[string(spans.DBType)] = "redis"
	o.Tags[string(spans.DBInstance)] = c.instance
	o.Tags[string(spans.DBStatement)] = c.statement
	if c.peer != nil {
		o.Tags[string(spans.PeerAddress)] = c.peer
	}
}

// Command starts the span of one command, whose arguments (name first)
// are args; peer is the server's address (a string, or nil when unknown).
// It returns the command (its Context for the rest of the command,
// carrying the span and marked covered so that nested clients do not
// trace the same command again) or nil when the command is not traced.
func (cl *Client) Command(ctx context.Context, args []interface{}, peer any) *Command {
	defer spans.Guard(where)
	if !Traced(ctx) {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	name := upperName(argString(args, 0))
	if name == "" {
		name = "REDIS"
	}
	c := &Command{instance: cl.instance, peer: peer, statement: statementNamed(name, args)}
	if parent := spans.Current(ctx); parent != nil {
		c.parent = parent.Context()
	}
	c.opts[0] = c
	span := spans.Tracer().StartSpan(name, c.opts[:]...)
	c.parent = nil
	c.Cover(ctx, Layer, span)
	return c
}

// NeedsPeer reports whether the span started without the server's
// address (a failover client's first command, before it dialed).
func (c *Command) NeedsPeer() bool { return c.peer == nil }

// SetPeer tags the span with the server's address, learnt late.
func (c *Command) SetPeer(addr string) {
	if addr != "" {
		defer spans.Guard(where)
		spans.PeerAddress.Set(c.Span(), addr)
	}
}

// Finish ends the command's span (a nil c is allowed) with its error,
// which flags the span unless it is Redis's nil reply (isNil).
func (c *Command) Finish(err error, isNil bool) {
	if c == nil {
		return
	}
	defer spans.Guard(where)
	span := c.Span()
	if err != nil && !isNil {
		spans.Error.Set(span, true)
		span.LogFields(log.String("event", "error"), log.String("message", err.Error()))
	}
	span.Finish()
}

// commonNames are the upper-case names of frequent commands, so that
// naming their spans allocates nothing.
var commonNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range strings.Fields(`GET SET DEL EXISTS EXPIRE PEXPIRE TTL PTTL INCR INCRBY DECR DECRBY
		MGET MSET SETNX SETEX GETSET GETDEL APPEND STRLEN
		HGET HSET HDEL HGETALL HMGET HMSET HINCRBY HEXISTS HLEN HKEYS HVALS
		LPUSH RPUSH LPOP RPOP LRANGE LLEN LREM LINDEX BLPOP BRPOP LMOVE BLMOVE
		SADD SREM SMEMBERS SISMEMBER SCARD
		ZADD ZREM ZRANGE ZRANGEBYSCORE ZREVRANGE ZSCORE ZCARD ZINCRBY ZREMRANGEBYSCORE
		PUBLISH SUBSCRIBE EVAL EVALSHA SCAN KEYS PING MULTI EXEC WATCH UNWATCH
		XADD XREAD XREADGROUP XACK HELLO AUTH SELECT CLIENT INFO`) {
		m[strings.ToLower(n)] = n
		m[n] = n
	}
	return m
}()

// upperName returns a command name in upper case.
func upperName(s string) string {
	if n, ok := commonNames[s]; ok {
		return n
	}
	return strings.ToUpper(s)
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
			names.WriteString(upperName(argString(args, 0)))
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
	return statementNamed(upperName(argString(args, 0)), args)
}

// statementNamed is statement for a command whose upper-case name is
// already known.
func statementNamed(name string, args []interface{}) string {
	if len(args) == 0 {
		return ""
	}
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
