package trace

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"

	"github.com/ottoolexec/ottoolexec/hooks/sqltrace"
	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

func TestRows(t *testing.T) {
	for tag, want := range map[string]int64{"SELECT 3": 3, "INSERT 0 1": 1, "COPY 12": 12, "BEGIN": -1, "": -1} {
		n, ok := Rows(tag)
		if !ok {
			n = -1
		}
		if n != want {
			t.Errorf("Rows(%q) = %d, want %d", tag, n, want)
		}
	}
}

func TestStatementSpan(t *testing.T) {
	tracer := mocktracer.New()
	opentracing.SetGlobalTracer(tracer)
	defer opentracing.SetGlobalTracer(opentracing.NoopTracer{})
	c := NewConn("test", "alice", "127.0.0.1", 5432)

	parent := tracer.StartSpan("job")
	ctx := opentracing.ContextWithSpan(context.Background(), parent)
	qctx := c.StartQuery(ctx, "SELECT * FROM t WHERE id = $1", []any{7}, false)
	End(qctx, "SELECT 2", nil)
	fctx := c.StartQuery(context.Background(), "DELETE FROM t", nil, false)
	End(fctx, "", errors.New("boom"))

	done := tracer.FinishedSpans()
	if len(done) != 2 {
		t.Fatalf("%d spans, want 2", len(done))
	}
	s := done[0]
	if s.OperationName != "SELECT" || s.ParentID != parent.(*mocktracer.MockSpan).SpanContext.SpanID {
		t.Errorf("span %q parent %d, want SELECT under job", s.OperationName, s.ParentID)
	}
	want := map[string]any{
		"span.kind": "client", "component": "pgx", "db.type": "sql", "db.instance": "test",
		"db.user": "alice", "peer.address": "127.0.0.1:5432", "peer.service": "postgresql",
		"db.statement": "SELECT * FROM t WHERE id = $1", RowsTag: int64(2),
	}
	for k, v := range want {
		if got := s.Tag(k); got != v {
			t.Errorf("tag %s = %v (%T), want %v", k, got, got, v)
		}
	}
	if _, ok := s.Tags()[sqltrace.ArgsTag]; ok {
		t.Errorf("db.args recorded without OTTOOLEXEC_SQL_ARGS=1")
	}
	f := done[1]
	if f.OperationName != "DELETE" || f.ParentID != 0 || f.Tag("error") != true || len(f.Logs()) != 1 {
		t.Errorf("failed statement: %q parent %d error=%v logs=%v", f.OperationName, f.ParentID, f.Tag("error"), f.Logs())
	}
}

// Through pgx/v5/stdlib, database/sql has made the span and marked the
// context: pgx makes none, and its end does not finish database/sql's.
func TestCoveredByDatabaseSQL(t *testing.T) {
	tracer := mocktracer.New()
	opentracing.SetGlobalTracer(tracer)
	defer opentracing.SetGlobalTracer(opentracing.NoopTracer{})
	c := NewConn("test", "alice", "127.0.0.1", 5432)

	outer := tracer.StartSpan("SELECT")
	ctx := spans.Covered(opentracing.ContextWithSpan(context.Background(), outer), "database/sql")
	qctx := c.StartQuery(ctx, "SELECT 1", nil, false)
	End(qctx, "SELECT 1", nil)
	bctx := c.StartBatch(ctx, 2, false)
	BatchQuery(bctx, "SELECT 1", nil, nil)
	End(bctx, "", nil)
	if lookup(qctx) != nil || lookup(bctx) != nil {
		t.Errorf("a span was started under a covered context")
	}
	if n := len(tracer.FinishedSpans()); n != 0 {
		t.Fatalf("%d spans finished under a covered context, want 0", n)
	}
}

func TestBatchSpan(t *testing.T) {
	tracer := mocktracer.New()
	opentracing.SetGlobalTracer(tracer)
	defer opentracing.SetGlobalTracer(opentracing.NoopTracer{})
	c := NewConn("test", "alice", "/run/postgresql", 5433)

	ctx := c.StartBatch(context.Background(), 2, false)
	BatchQuery(ctx, "INSERT INTO t VALUES (1)", nil, nil)
	BatchQuery(ctx, "INSERT INTO t VALUES (1)", nil, errors.New("duplicate key"))
	End(ctx, "", nil)
	done := tracer.FinishedSpans()
	if len(done) != 1 {
		t.Fatalf("%d spans, want 1", len(done))
	}
	s := done[0]
	if s.OperationName != "BATCH" || s.Tag(BatchSizeTag) != 2 || s.Tag("error") != true ||
		s.Tag("peer.address") != "/run/postgresql/.s.PGSQL.5433" ||
		!strings.Contains(s.Tag("db.statement").(string), "INSERT INTO t VALUES (1);\nINSERT") {
		t.Errorf("batch span %q tags %v", s.OperationName, s.Tags())
	}
}

// A statement run by the name the program prepared it under is named and
// shown by its SQL; pgx's own cache names are not remembered.
func TestPreparedByName(t *testing.T) {
	tracer := mocktracer.New()
	opentracing.SetGlobalTracer(tracer)
	defer opentracing.SetGlobalTracer(opentracing.NoopTracer{})
	c := NewConn("test", "alice", "127.0.0.1", 5432)
	c.Prepared("byID", "select name from t where id = $1")
	c.Prepared("stmtcache_0123", "delete from t")
	for i := 0; i < 2*maxPrepared; i++ {
		c.Prepared(strings.Repeat("x", i+1), "select 1")
	}
	if len(c.prepared) != maxPrepared {
		t.Errorf("%d prepared names remembered, want at most %d", len(c.prepared), maxPrepared)
	}
	End(c.StartQuery(context.Background(), "byID", []any{1}, false), "SELECT 1", nil)
	End(c.StartQuery(context.Background(), "stmtcache_0123", nil, false), "", nil)
	done := tracer.FinishedSpans()
	if len(done) != 2 || done[0].OperationName != "SELECT" || done[0].Tag("db.statement") != "select name from t where id = $1" ||
		done[1].OperationName != "STMTCACHE_" {
		for _, s := range done {
			t.Logf("%s %v", s.OperationName, s.Tags())
		}
		t.Fatalf("prepared statements named wrong")
	}
}

// panickyTracer fails the way a broken tracer might.
type panickyTracer struct{ opentracing.NoopTracer }

func (panickyTracer) StartSpan(string, ...opentracing.StartSpanOption) opentracing.Span {
	panic("tracer broke")
}

// A panic in tracing is recovered, and pgx gets its own context back, so
// the statement runs as without ottoolexec.
func TestPanicKeepsContext(t *testing.T) {
	opentracing.SetGlobalTracer(panickyTracer{})
	defer opentracing.SetGlobalTracer(opentracing.NoopTracer{})
	c := NewConn("test", "alice", "127.0.0.1", 5432)
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "mine")
	before := spans.Panics()
	for _, got := range []context.Context{
		c.StartQuery(ctx, "SELECT 1", nil, false),
		c.StartBatch(ctx, 1, false),
		c.StartCopy(ctx, `"t"`, nil, false),
	} {
		if got != ctx {
			t.Errorf("after a recovered panic the context is %v, want the caller's", got)
		}
		End(got, "", nil)
	}
	if spans.Panics()-before != 3 {
		t.Errorf("%d panics recovered, want 3", spans.Panics()-before)
	}
}

func TestStatementLimit(t *testing.T) {
	tracer := mocktracer.New()
	opentracing.SetGlobalTracer(tracer)
	defer opentracing.SetGlobalTracer(opentracing.NoopTracer{})
	defer func(n int) { sqltrace.MaxStatement = n }(sqltrace.MaxStatement)
	sqltrace.MaxStatement = 0
	c := NewConn("test", "alice", "127.0.0.1", 5432)
	End(c.StartQuery(context.Background(), "SELECT 1", nil, false), "SELECT 1", nil)
	if s := tracer.FinishedSpans(); len(s) != 1 || s[0].OperationName != "SELECT" || s[0].Tag("db.statement") != nil {
		t.Errorf("with a limit of 0: %v", s)
	}
}
