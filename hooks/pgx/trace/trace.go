// Package trace is the runtime half of the pgx integration: the tracer
// that ottoolexec adds to package pgx calls it with plain values (SQL text,
// arguments, command tags, errors) and it turns them into OpenTracing
// spans. It never imports pgx, so ottoolexec's module does not require it.
package trace

import (
	"context"
	"net"
	"strconv"
	"strings"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/log"

	"github.com/ottoolexec/ottoolexec/hooks/sqltrace"
	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

const (
	component = "pgx"
	// coveringLayer is the layer that makes the span itself when pgx is
	// used through pgx/v5/stdlib: database/sql marks the context it hands
	// to the driver, and pgx then adds no second span.
	coveringLayer = "database/sql"
	// RowsTag holds the number of rows a statement returned or changed,
	// from the command tag PostgreSQL answered with ("SELECT 3", "INSERT 0
	// 1"); the database/sql integration's name for the rows a query
	// returned.
	RowsTag = "db.row_count"
	// BatchSizeTag holds the number of statements queued in a batch.
	BatchSizeTag = "db.batch.size"
	// TableTag holds the table a COPY fills.
	TableTag = "db.table"
)

// Conn holds what every span of one connection carries: the database, the
// user and the server's address. It never holds the password.
//
// Like the pgx.Conn it belongs to, a Conn is used by one goroutine at a
// time (a pool hands its connections over through channels).
type Conn struct {
	instance string
	user     string
	peer     string
	// prepared maps the names of statements the program prepared itself
	// to their SQL, so that running one by name (conn.Query(ctx,
	// "byID", 7)) is still named and shown by its SQL.
	prepared map[string]string
}

// maxPrepared bounds the names a Conn remembers: a program preparing
// ever new names must not grow memory without end.
const maxPrepared = 256

// Prepared records that the program prepared sql under name. pgx's own
// statement cache ("stmtcache_..." names, or none) runs statements by
// their SQL, so those are not recorded.
func (c *Conn) Prepared(name, sql string) {
	if c == nil || name == "" || name == sql || strings.HasPrefix(name, "stmtcache_") {
		return
	}
	if c.prepared == nil {
		c.prepared = make(map[string]string)
	}
	if _, ok := c.prepared[name]; ok || len(c.prepared) < maxPrepared {
		c.prepared[name] = sql
	}
}

// statement returns the SQL that sql stands for: a prepared statement's
// text when sql is its name, else sql itself.
func (c *Conn) statement(sql string) string {
	if text, ok := c.prepared[sql]; ok {
		return text
	}
	return sql
}

// NewConn describes a connection to database on host:port as user, or
// returns nil when tracing is disabled (OTTOOLEXEC_DISABLED), in which
// case the caller installs nothing. A host starting with "/" is a Unix
// socket directory, as in libpq.
func NewConn(database, user, host string, port uint16) *Conn {
	if spans.Disabled() {
		return nil
	}
	c := &Conn{instance: database, user: user}
	switch {
	case host == "":
	case strings.HasPrefix(host, "/"):
		c.peer = host + "/.s.PGSQL." + strconv.Itoa(int(port))
	default:
		c.peer = net.JoinHostPort(host, strconv.Itoa(int(port)))
	}
	return c
}

// active is the span of one pgx operation, kept in the context pgx hands
// from the start of the operation to its end.
type active struct {
	span opentracing.Span
	conn *Conn
	// statements collects the SQL of a batch as pgx reports each result.
	statements strings.Builder
	seen       int
}

type activeKey struct{}

// start starts a span named name for an operation on c, a child of the
// current span of ctx (its span, else the goroutine's). It returns ctx
// unchanged when database/sql already covers the call.
func (c *Conn) start(ctx context.Context, name string, hasInner bool) (context.Context, *active) {
	if c == nil || ctx == nil || spans.IsCovered(ctx, coveringLayer) {
		return ctx, nil
	}
	opts := []opentracing.StartSpanOption{opentracing.Tag{Key: string(spans.SpanKind), Value: "client"}}
	if parent := spans.Current(ctx); parent != nil {
		opts = append(opts, opentracing.ChildOf(parent.Context()))
	}
	span := spans.Tracer().StartSpan(name, opts...)
	spans.Component.Set(span, component)
	spans.DBType.Set(span, "sql")
	if c.instance != "" {
		spans.DBInstance.Set(span, c.instance)
	}
	if c.user != "" {
		spans.DBUser.Set(span, c.user)
	}
	if c.peer != "" {
		spans.PeerAddress.Set(span, c.peer)
	}
	spans.PeerService.Set(span, "postgresql")
	a := &active{span: span, conn: c}
	ctx = context.WithValue(ctx, activeKey{}, a)
	if hasInner {
		// A tracer of the program's own, called next with this context,
		// sees the span as the current one.
		ctx = opentracing.ContextWithSpan(ctx, span)
	}
	return ctx, a
}

// StartQuery starts the span of one statement (Query, QueryRow, Exec, and
// the BEGIN, COMMIT and ROLLBACK of transactions), named after its first
// keyword. hasInner says a tracer of the program's own runs after this one.
func (c *Conn) StartQuery(ctx context.Context, sql string, args []any, hasInner bool) (out context.Context) {
	// A recovered panic still hands pgx back its context.
	out = ctx
	defer spans.Guard("pgx")
	if c == nil {
		return ctx
	}
	sql = c.statement(sql)
	ctx, a := c.start(ctx, sqltrace.Operation(sql), hasInner)
	if a != nil {
		sqltrace.SetStatement(a.span, sql)
		sqltrace.SetArgs(a.span, args)
	}
	return ctx
}

// StartBatch starts the span of a batch of size statements sent at once
// (SendBatch): one span named BATCH for the whole round trip, whose
// db.statement lists the statements as their results are read.
func (c *Conn) StartBatch(ctx context.Context, size int, hasInner bool) (out context.Context) {
	// A recovered panic still hands pgx back its context.
	out = ctx
	defer spans.Guard("pgx")
	ctx, a := c.start(ctx, "BATCH", hasInner)
	if a != nil {
		a.span.SetTag(BatchSizeTag, size)
	}
	return ctx
}

// BatchQuery records the result of one statement of the batch whose span
// ctx carries; err is nil for success (pgx.ErrNoRows included).
func BatchQuery(ctx context.Context, sql string, args []any, err error) {
	defer spans.Guard("pgx")
	a := lookup(ctx)
	if a == nil {
		return
	}
	a.seen++
	if b := &a.statements; b.Len() <= sqltrace.MaxStatement {
		if b.Len() > 0 {
			b.WriteString(";\n")
		}
		b.WriteString(a.conn.statement(sql))
	}
	if err != nil {
		spans.Error.Set(a.span, true)
		a.span.LogFields(log.String("event", "error"), log.Int("statement", a.seen), log.String("message", err.Error()))
	}
}

// StartCopy starts the span of a CopyFrom into table (already quoted as
// PostgreSQL wants it) with the given quoted column names.
func (c *Conn) StartCopy(ctx context.Context, table string, columns []string, hasInner bool) (out context.Context) {
	// A recovered panic still hands pgx back its context.
	out = ctx
	defer spans.Guard("pgx")
	ctx, a := c.start(ctx, "COPY", hasInner)
	if a != nil {
		a.span.SetTag(TableTag, table)
		sqltrace.SetStatement(a.span, "COPY "+table+" ("+strings.Join(columns, ", ")+") FROM STDIN")
	}
	return ctx
}

// End ends the span that ctx carries, if this package started one there:
// commandTag is what the server answered ("SELECT 3"), err the failure
// (nil for success and for pgx.ErrNoRows).
func End(ctx context.Context, commandTag string, err error) {
	defer spans.Guard("pgx")
	if ctx == nil || spans.IsCovered(ctx, coveringLayer) {
		return
	}
	a := lookup(ctx)
	if a == nil {
		return
	}
	if a.statements.Len() > 0 {
		sqltrace.SetStatement(a.span, a.statements.String())
	}
	if n, ok := Rows(commandTag); ok {
		a.span.SetTag(RowsTag, n)
	}
	if err != nil {
		spans.Error.Set(a.span, true)
		a.span.LogFields(log.String("event", "error"), log.String("message", err.Error()))
	}
	a.span.Finish()
}

func lookup(ctx context.Context) *active {
	if ctx == nil {
		return nil
	}
	a, _ := ctx.Value(activeKey{}).(*active)
	return a
}

// Rows returns the row count at the end of a command tag ("SELECT 3",
// "INSERT 0 1", "COPY 5"); ok is false for tags without one ("BEGIN").
func Rows(commandTag string) (n int64, ok bool) {
	i := strings.LastIndexByte(commandTag, ' ')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(commandTag[i+1:], 10, 64)
	return n, err == nil
}
