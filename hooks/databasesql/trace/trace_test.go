package trace

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"

	"github.com/ottoolexec/ottoolexec/hooks/sqltrace"
	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

func TestIsError(t *testing.T) {
	for err, want := range map[error]bool{
		nil:                                   false,
		sql.ErrNoRows:                         false,
		fmt.Errorf("scan: %w", sql.ErrNoRows): false,
		driver.ErrSkip:                        false,
		errors.New("relation does not exist"): true,
		sql.ErrTxDone:                         true,
	} {
		if got := IsError(err); got != want {
			t.Errorf("IsError(%v) = %v, want %v", err, got, want)
		}
	}
}

func TestDescribe(t *testing.T) {
	t.Setenv("PGHOST", "")
	t.Setenv("PGPORT", "")
	t.Setenv("PGDATABASE", "")
	t.Setenv("PGUSER", "")
	for _, c := range []struct {
		driver, dsn string
		want        dbInfo
	}{
		{"postgres", "postgres://alice:pw%40x@db.example:6543/shop?sslmode=disable",
			dbInfo{"postgres", "postgresql", "shop", "alice", "db.example:6543", "pw@x"}},
		{"postgres", "postgresql://bob@10.0.0.1/orders",
			dbInfo{"postgres", "postgresql", "orders", "bob", "10.0.0.1:5432", ""}},
		{"pgx", "postgres:///app?host=/var/run/postgresql&user=carol",
			dbInfo{"pgx", "postgresql", "app", "carol", "/var/run/postgresql", ""}},
		{"postgres", "host=127.0.0.1 port=5433 user=root password='s3 cr\\'et' dbname=test sslmode=disable",
			dbInfo{"postgres", "postgresql", "test", "root", "127.0.0.1:5433", "s3 cr'et"}},
		{"postgres", "dbname=x",
			dbInfo{"postgres", "postgresql", "x", "", "localhost:5432", ""}},
		{"postgres", "host=[::1] dbname=x",
			dbInfo{"postgres", "postgresql", "x", "", "[::1]:5432", ""}},
		{"mysql", "root:p@ss/word@tcp(127.0.0.1:3307)/test?parseTime=true",
			dbInfo{"mysql", "mysql", "test", "root", "127.0.0.1:3307", "p@ss/word"}},
		{"mysql", "root@/test",
			dbInfo{"mysql", "mysql", "test", "root", "127.0.0.1:3306", ""}},
		{"mysql", "u:p@tcp(db)/x",
			dbInfo{"mysql", "mysql", "x", "u", "db:3306", "p"}},
		{"mysql", "u@unix(/run/mysqld/mysqld.sock)/x",
			dbInfo{"mysql", "mysql", "x", "u", "/run/mysqld/mysqld.sock", ""}},
		{"mysql", "not a dsn", dbInfo{"mysql", "mysql", "", "", "", ""}},
		{"sqlite", "file:/tmp/a.db?_pragma=busy_timeout(5000)",
			dbInfo{"sqlite", "sqlite", "/tmp/a.db", "", "", ""}},
		{"sqlite3", "data.db", dbInfo{"sqlite3", "sqlite", "data.db", "", "", ""}},
		{"sqlite", ":memory:", dbInfo{"sqlite", "sqlite", ":memory:", "", "", ""}},
		{"clickhouse", "clickhouse://u:secretpw@ch:9000/logs",
			dbInfo{"clickhouse", "", "logs", "u", "ch:9000", "secretpw"}},
		{"odd", "%%%://", dbInfo{"odd", "", "", "", "", ""}},
	} {
		got := describe(c.driver, c.dsn, nil)
		if *got != c.want {
			t.Errorf("describe(%q, %q) =\n\t%+v, want\n\t%+v", c.driver, c.dsn, *got, c.want)
		}
	}
}

func TestDescribeUsesPGEnvironment(t *testing.T) {
	t.Setenv("PGHOST", "pg.internal")
	t.Setenv("PGPORT", "6000")
	t.Setenv("PGDATABASE", "envdb")
	t.Setenv("PGUSER", "envuser")
	got := describe("postgres", "sslmode=disable", nil)
	want := dbInfo{"postgres", "postgresql", "envdb", "envuser", "pg.internal:6000", ""}
	if *got != want {
		t.Errorf("got %+v, want %+v", *got, want)
	}
}

func TestScrub(t *testing.T) {
	d := &dbInfo{password: "hunter22"}
	if got := d.scrub(`cannot connect with "hunter22"`); strings.Contains(got, "hunter22") {
		t.Errorf("scrub left the password in: %s", got)
	}
	short := &dbInfo{password: "a"}
	if got := short.scrub("a table"); got != "a table" {
		t.Errorf("a one-letter password changed the message: %s", got)
	}
}

// The settings of a connector given to sql.OpenDB are read from its
// fields, as pgx's stdlib connector keeps them (a pgx.ConnConfig embedding
// a pgconn.Config).
type fakeConfig struct {
	Host     string
	Port     uint16
	Database string
	User     string
	Password string
}

type fakeConnector struct {
	config struct{ fakeConfig }
	next   *fakeConnector // cycles stop at the depth limit
}

func (*fakeConnector) Connect(context.Context) (driver.Conn, error) { return nil, errors.New("no") }
func (*fakeConnector) Driver() driver.Driver                        { return fakeDriver{} }

type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) { return nil, errors.New("no") }

func TestDescribeConnector(t *testing.T) {
	c := &fakeConnector{}
	c.config.fakeConfig = fakeConfig{"db.local", 5999, "inv", "dave", "pw"}
	c.next = c
	got := describeConnector(c)
	want := dbInfo{component: "github.com/ottoolexec/ottoolexec/hooks/databasesql/trace", instance: "inv", user: "dave", peerAddress: "db.local:5999"}
	if *got != want {
		t.Errorf("describeConnector = %+v, want %+v", *got, want)
	}
	if got := describeConnector(nil); *got != (dbInfo{}) {
		t.Errorf("describeConnector(nil) = %+v", *got)
	}
}

// The context a call hands to the driver carries the call's span and is
// marked as covered by database/sql, which is also how the call that the
// prologue re-enters with it knows not to make a second span.
func TestStartSpanContext(t *testing.T) {
	tracer := mocktracer.New()
	prev := opentracing.GlobalTracer()
	opentracing.SetGlobalTracer(tracer)
	defer opentracing.SetGlobalTracer(prev)

	parent := tracer.StartSpan("handler")
	ctx := opentracing.ContextWithSpan(context.Background(), parent)
	var slot atomic.Value
	slot.Store(prepare(describe("postgres", "postgres://u:pw123456@h:5432/db", nil)))

	inner := startSpan(ctx, nil, &slot, "", "select 1", []any{1})
	if inner == nil {
		t.Fatal("no span started")
	}
	if !spans.IsCovered(inner, Layer) {
		t.Error("the driver's context is not marked as covered by database/sql")
	}
	span, _ := opentracing.SpanFromContext(inner).(*mocktracer.MockSpan)
	if span == nil || span.OperationName != "SELECT" {
		t.Fatalf("the driver's context carries %v, want the SELECT span", opentracing.SpanFromContext(inner))
	}
	if again := startSpan(inner, nil, &slot, "", "select 1", nil); again != nil {
		t.Error("a call re-entered with the covered context started a second span")
	}
	endSpan(inner, errors.New("boom: pw123456 rejected"), 2)
	finished := tracer.FinishedSpans()
	if len(finished) != 1 {
		t.Fatalf("%d finished spans, want 1", len(finished))
	}
	s := finished[0]
	if s.ParentID != parent.(*mocktracer.MockSpan).SpanContext.SpanID {
		t.Error("the span is not a child of the context's span")
	}
	for k, want := range map[string]any{"span.kind": "client", "component": "postgres", "db.type": "sql", "db.instance": "db",
		"db.user": "u", "peer.address": "h:5432", "peer.service": "postgresql", "db.statement": "select 1", RowCount: int64(2), "error": true} {
		if got := s.Tag(k); got != want {
			t.Errorf("tag %s = %#v, want %#v", k, got, want)
		}
	}
	if s.Tag(sqltrace.ArgsTag) != nil {
		t.Error("bind arguments recorded without OTTOOLEXEC_SQL_ARGS=1")
	}
	logs := fmt.Sprint(s.Logs())
	if !strings.Contains(logs, "boom") || strings.Contains(logs, "pw123456") {
		t.Errorf("logs %s: want the error without the password", logs)
	}
	var nilCtx context.Context
	if c := startSpan(nilCtx, nil, &slot, "", "select 1", nil); c != nil {
		t.Error("a nil context started a span")
	}
}

// What a traced query costs on top of the tracer's own work: the call
// (context, span and info in one) and the statement's tag value. Tag
// values of the DB are boxed once, and no start options are built.
func TestStartSpanAllocations(t *testing.T) {
	prev := opentracing.GlobalTracer()
	opentracing.SetGlobalTracer(opentracing.NoopTracer{})
	defer opentracing.SetGlobalTracer(prev)
	var slot atomic.Value
	slot.Store(prepare(describe("postgres", "postgres://u:pw123456@h:5432/db", nil)))
	ctx := context.Background()
	n := testing.AllocsPerRun(200, func() {
		c := startSpan(ctx, nil, &slot, "", "select 1", nil)
		endSpan(c, nil, 1)
	})
	if n > 2 {
		t.Errorf("a query allocates %v times in the hook, want at most 2", n)
	}
}
