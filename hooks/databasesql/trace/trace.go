// Package trace is the runtime half of the database/sql integration: it
// fills in the function variables that ottoolexec adds to database/sql and
// turns each call into an OpenTracing client span. Traced main packages
// import it; user code never needs to. Span names and the statement and
// argument tags (and their settings, OTTOOLEXEC_SQL_*) are hooks/sqltrace's,
// which the pgx integration shares.
package trace

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/log"

	"github.com/ottoolexec/ottoolexec/hooks/sqltrace"
	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

// The variables below are declared in database/sql by the file the
// databasesql rule adds to it (hooks/databasesql/inject_sql.go.txt); their
// types must match that file exactly, which TestHookTypesMatch checks.

//go:linkname start database/sql.__ottoolexec_start
var start func(ctx context.Context, connector driver.Connector, info *atomic.Value, op, query string, args []any) context.Context

//go:linkname finish database/sql.__ottoolexec_finish
var finish func(call context.Context, err error, rows int64)

//go:linkname openHook database/sql.__ottoolexec_openHook
var openHook func(driverName, dsn string) (inner string, done func(db *sql.DB) any)

// Layer is the name under which database/sql marks the contexts it hands
// to drivers (spans.Covered), so that a driver's own tracing (pgx used
// through pgx/v5/stdlib) does not make a second span for the statement.
const Layer = "database/sql"

// Tag names that the OpenTracing conventions do not have.
const (
	// RowCount is the number of rows a query's Rows returned through Next.
	RowCount = "db.row_count"
)

func init() {
	if spans.Disabled() {
		return
	}
	start = startSpan
	finish = endSpan
	openHook = open
}

// opening holds the address of each DSN copy that open handed back to
// sql.Open and that is being opened right now, so that the re-entered
// Open is recognised (by address, since its text equals the caller's).
var opening sync.Map // uintptr -> struct{}

// open is called by sql.Open. It returns an equal copy of dsn, with which
// the prologue calls Open again (and this hook lets that call through),
// and the function that describes the opened DB from its driver and the
// DSN. A DSN of the caller's that happens to be a copy in flight cannot
// occur: the copy is new memory, owned by this call.
func open(driverName, dsn string) (inner string, done func(db *sql.DB) any) {
	defer spans.Guard("database/sql open")
	if dsn == "" {
		return "", nil // nothing to learn that the driver does not tell
	}
	if _, reentered := opening.Load(stringAddr(dsn)); reentered {
		return "", nil
	}
	inner = strings.Clone(dsn)
	key := stringAddr(inner)
	opening.Store(key, struct{}{})
	return inner, func(db *sql.DB) any {
		defer spans.Guard("database/sql open")
		opening.Delete(key)
		if db == nil {
			return nil
		}
		return prepare(describe(driverName, dsn, db.Driver()))
	}
}

func stringAddr(s string) uintptr { return uintptr(unsafe.Pointer(unsafe.StringData(s))) }

// prepared is what a DB's info slot holds: what is known of the database,
// and the tags it gives every span, their values boxed once per DB so
// that a query does not allocate them again.
type prepared struct {
	info *dbInfo
	tags []tag
}

type tag struct {
	key   string
	value any
}

// prepare builds the tag set of info's spans (empty values left out).
func prepare(info *dbInfo) *prepared {
	p := &prepared{info: info}
	add := func(key, value string) {
		if value != "" {
			p.tags = append(p.tags, tag{key, value})
		}
	}
	add(string(spans.Component), info.component)
	add(string(spans.DBType), "sql")
	add(string(spans.DBInstance), info.instance)
	add(string(spans.DBUser), info.user)
	add(string(spans.PeerAddress), info.peerAddress)
	add(string(spans.PeerService), info.peerService)
	return p
}

// infoOf returns what is known of db: recorded by open, or else learnt
// from its driver (sql.OpenDB with a connector) and kept.
func infoOf(connector driver.Connector, slot *atomic.Value) *prepared {
	if p, ok := slot.Load().(*prepared); ok {
		return p
	}
	p := prepare(describeConnector(connector))
	slot.Store(p)
	return p
}

// call is one traced call: the context handed to the driver (carrying the
// span, covered by database/sql) and what ending the span needs, in one
// allocation. database/sql hands it back to endSpan.
type call struct {
	spans.CoveredContext
	info *dbInfo
}

// startSpan starts the span of one database/sql call.
// It returns nil when the call is not to be traced.
func startSpan(ctx context.Context, connector driver.Connector, slot *atomic.Value, op, query string, args []any) context.Context {
	defer spans.Guard("database/sql")
	// A nil context makes database/sql panic as it would have; a covered
	// one is the call re-entered by the prologue, already spanned.
	if ctx == nil || spans.IsCovered(ctx, Layer) {
		return nil
	}
	p := infoOf(connector, slot)
	if op == "" {
		op = sqltrace.Operation(query)
	}
	// The span kind is set as a tag rather than a start option: options
	// cost a slice and a map per span.
	var span opentracing.Span
	if parent := spans.Current(ctx); parent != nil {
		span = spans.Tracer().StartSpan(op, opentracing.ChildOf(parent.Context()))
	} else {
		span = spans.Tracer().StartSpan(op)
	}
	span.SetTag(string(spans.SpanKind), "client")
	for _, t := range p.tags {
		span.SetTag(t.key, t.value)
	}
	sqltrace.SetStatement(span, query)
	sqltrace.SetArgs(span, args)
	c := &call{info: p.info}
	c.Cover(ctx, Layer, span)
	return c
}

// endSpan ends the span of the call that startSpan returned, with its
// error and, for a query, the number of rows read (-1 otherwise).
func endSpan(ctx context.Context, err error, rows int64) {
	defer spans.Guard("database/sql")
	c, ok := ctx.(*call)
	if !ok {
		return
	}
	span := c.Span()
	if rows >= 0 {
		span.SetTag(RowCount, rows)
	}
	if IsError(err) {
		spans.Error.Set(span, true)
		span.LogFields(log.String("event", "error"), log.String("message", c.info.scrub(err.Error())))
	}
	span.Finish()
}

// IsError reports whether err makes a span an error span: sql.ErrNoRows
// and driver.ErrSkip are answers, not failures.
func IsError(err error) bool {
	return err != nil && !errors.Is(err, sql.ErrNoRows) && !errors.Is(err, driver.ErrSkip)
}
