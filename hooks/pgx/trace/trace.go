// Package trace is the runtime half of the pgx integration: the tracer
// that ottoolexec adds to package pgx calls it with plain values (SQL text,
// arguments, command tags, errors) and it turns them into OpenTracing
// spans. It never imports pgx, so ottoolexec's module does not require it.
package trace

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/log"

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
	// ArgsTag holds the bind arguments, when OTTOOLEXEC_SQL_ARGS=1.
	ArgsTag = "db.args"
	// BatchSizeTag holds the number of statements queued in a batch.
	BatchSizeTag = "db.batch.size"
	// TableTag holds the table a COPY fills.
	TableTag = "db.table"
)

// Settings read once at start-up, as the database/sql integration reads
// them:
//
//	OTTOOLEXEC_SQL_MAX_STATEMENT  bytes of db.statement kept (default 1024; 0 leaves it out)
//	OTTOOLEXEC_SQL_ARGS=1         also record the bind arguments as db.args
var (
	maxStatement = statementLimit(os.Getenv("OTTOOLEXEC_SQL_MAX_STATEMENT"))
	recordArgs   = os.Getenv("OTTOOLEXEC_SQL_ARGS") == "1"
)

const defaultMaxStatement = 1024

// statementLimit reads OTTOOLEXEC_SQL_MAX_STATEMENT. A value that is not a
// number of bytes keeps the default and says so.
func statementLimit(v string) int {
	v = strings.TrimSpace(v)
	if v == "" || spans.Disabled() {
		return defaultMaxStatement
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "ottoolexec: pgx: OTTOOLEXEC_SQL_MAX_STATEMENT=%q is not a number of bytes; using %d\n", v, defaultMaxStatement)
		return defaultMaxStatement
	}
	return n
}

// setStatement sets db.statement to sql, capped; a cap of 0 leaves it out.
func setStatement(span opentracing.Span, sql string) {
	if maxStatement > 0 {
		spans.DBStatement.Set(span, Cap(sql, maxStatement))
	}
}

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
	ctx, a := c.start(ctx, Operation(sql), hasInner)
	if a != nil {
		setStatement(a.span, sql)
		if recordArgs && len(args) > 0 {
			a.span.SetTag(ArgsTag, FormatArgs(args))
		}
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
	if b := &a.statements; b.Len() <= maxStatement {
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
		setStatement(a.span, "COPY "+table+" ("+strings.Join(columns, ", ")+") FROM STDIN")
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
		setStatement(a.span, a.statements.String())
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

// Operation names a statement's span: its first keyword in upper case
// (SELECT, INSERT, BEGIN, COMMIT, WITH...), after any leading white
// space, comments and opening parentheses; "SQL" when there is none.
func Operation(sql string) string {
	s := sql
	for {
		s = strings.TrimLeft(s, " \t\r\n\f(;")
		switch {
		case strings.HasPrefix(s, "--"):
			if i := strings.IndexByte(s, '\n'); i >= 0 {
				s = s[i+1:]
				continue
			}
			s = ""
		case strings.HasPrefix(s, "/*"):
			if i := strings.Index(s[2:], "*/"); i >= 0 {
				s = s[2+i+2:]
				continue
			}
			s = ""
		}
		break
	}
	end := 0
	for end < len(s) && isLetter(s[end]) {
		end++
	}
	if end == 0 {
		return "SQL"
	}
	return strings.ToUpper(s[:end])
}

func isLetter(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || b == '_'
}

// Cap returns s cut to at most max bytes, at a character boundary.
func Cap(s string, max int) string {
	if len(s) <= max {
		return s
	}
	// s[cut] is the first byte left out; if it continues a character,
	// that character goes too.
	cut := max
	for cut > 0 && cut > max-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
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

// FormatArgs renders bind arguments for the db.args tag as the
// database/sql integration does: strings and Stringers quoted, byte slices
// in hex, anything else as fmt's %v does.
func FormatArgs(args []any) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, arg := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		switch v := arg.(type) {
		case string:
			b.WriteString(strconv.Quote(v))
		case []byte:
			fmt.Fprintf(&b, "0x%x", v)
		case fmt.Stringer:
			b.WriteString(strconv.Quote(v.String()))
		default:
			fmt.Fprintf(&b, "%v", v)
		}
	}
	b.WriteByte(']')
	return b.String()
}
