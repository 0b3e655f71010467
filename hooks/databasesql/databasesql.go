// Package databasesql traces the standard library's database/sql, and so
// every driver and every library built on it (sqlx, gorm, ent, bun...),
// without knowing any of them.
//
// Each traced method of DB, Conn, Tx and Stmt gets a prologue that starts
// the span and then calls the very same method again with a context that
// carries the span and is marked as covered by database/sql; the
// re-entered call finds the mark and runs untouched. So one call is one
// span however many times database/sql retries it on driver.ErrBadConn,
// the plain methods (Query, Exec...) are covered through the ...Context
// methods they call, the driver sees the span in its context, and a driver
// with tracing of its own (pgx) can tell that the statement already has
// its span. The spliced code only reads parameters and calls methods, so
// it does not depend on how a Go release writes the bodies.
//
// A query's span lasts until its Rows are closed, by the caller or by
// reaching the end, counting the rows Next returned: Rows.close is the one
// place every way of finishing goes through. Commit and Rollback have no
// context; a flag on the Tx stops their re-entered call (and a Rollback
// after a Commit) from making a second span.
//
// sql.Open gets a prologue that shows the driver name and DSN to the
// runtime, which keeps what it learns (never the password) on the DB.
//
// The runtime half, which creates the spans, is the package in ./trace.
package databasesql

import (
	_ "embed"
	"strings"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_sql.go.txt
var injectSQL string

// call is the prologue of a method that runs one statement or command:
// start the span; if this is the outer call, make the same call again with
// the span's context, end the span and return what it returned. recv.call
// is the re-entered call, with CTX for the span's context; after is run
// with the results before they are returned. The span's context is also
// what ends it: a call costs no closure.
func call(db, op, query, args, results, again, after string) string {
	again = strings.ReplaceAll(again, "CTX", "__c")
	return "if __c := __ottoolexec_begin(ctx, " + db + ", " + op + ", " + query + ", " + args + "); __c != nil { " +
		results + " := " + again + "; " + after + "; return " + results + " };"
}

const (
	endErr  = "__ottoolexec_finish(__c, __e, -1)"
	endRows = "__ottoolexec_rowsEnd(__r, __e, __c)"
	// A Tx remembers the context it was begun with: its span is the
	// parent of the COMMIT or ROLLBACK span.
	endTx = "if __r != nil { __r.__ottoolexec_ctx = ctx }; __ottoolexec_finish(__c, __e, -1)"
)

// Rule is the database/sql integration.
var Rule = &hooks.Rule{
	Name:    "databasesql",
	Doc:     "database/sql client spans for every driver (statements, prepared statements, transactions, rows)",
	Package: "database/sql",
	Std:     true,
	Tested:  []string{"go1.26.8"},
	Funcs: []hooks.Func{
		{
			Name:      "Open",
			Signature: "(driverName, dataSourceName string) (*DB, error)",
			Prologue:  "if __db, __err, __ok := __ottoolexec_open(driverName, dataSourceName); __ok { return __db, __err };",
		},

		{Recv: "*DB", Name: "PingContext", Signature: "(ctx context.Context) error",
			Prologue: call("db", `"PING"`, `""`, "nil", "__e", "db.PingContext(CTX)", endErr)},
		{Recv: "*DB", Name: "PrepareContext", Signature: "(ctx context.Context, query string) (*Stmt, error)",
			Prologue: call("db", `"PREPARE"`, "query", "nil", "__r, __e", "db.PrepareContext(CTX, query)", endErr)},
		{Recv: "*DB", Name: "ExecContext", Signature: "(ctx context.Context, query string, args ...any) (Result, error)",
			Prologue: call("db", `""`, "query", "args", "__r, __e", "db.ExecContext(CTX, query, args...)", endErr)},
		{Recv: "*DB", Name: "QueryContext", Signature: "(ctx context.Context, query string, args ...any) (*Rows, error)",
			Prologue: call("db", `""`, "query", "args", "__r, __e", "db.QueryContext(CTX, query, args...)", endRows)},
		{Recv: "*DB", Name: "BeginTx", Signature: "(ctx context.Context, opts *TxOptions) (*Tx, error)",
			Prologue: call("db", `"BEGIN"`, `""`, "nil", "__r, __e", "db.BeginTx(CTX, opts)", endTx)},

		{Recv: "*Conn", Name: "PingContext", Signature: "(ctx context.Context) error",
			Prologue: call("c.db", `"PING"`, `""`, "nil", "__e", "c.PingContext(CTX)", endErr)},
		{Recv: "*Conn", Name: "PrepareContext", Signature: "(ctx context.Context, query string) (*Stmt, error)",
			Prologue: call("c.db", `"PREPARE"`, "query", "nil", "__r, __e", "c.PrepareContext(CTX, query)", endErr)},
		{Recv: "*Conn", Name: "ExecContext", Signature: "(ctx context.Context, query string, args ...any) (Result, error)",
			Prologue: call("c.db", `""`, "query", "args", "__r, __e", "c.ExecContext(CTX, query, args...)", endErr)},
		{Recv: "*Conn", Name: "QueryContext", Signature: "(ctx context.Context, query string, args ...any) (*Rows, error)",
			Prologue: call("c.db", `""`, "query", "args", "__r, __e", "c.QueryContext(CTX, query, args...)", endRows)},
		{Recv: "*Conn", Name: "BeginTx", Signature: "(ctx context.Context, opts *TxOptions) (*Tx, error)",
			Prologue: call("c.db", `"BEGIN"`, `""`, "nil", "__r, __e", "c.BeginTx(CTX, opts)", endTx)},

		{Recv: "*Tx", Name: "PrepareContext", Signature: "(ctx context.Context, query string) (*Stmt, error)",
			Prologue: call("tx.db", `"PREPARE"`, "query", "nil", "__r, __e", "tx.PrepareContext(CTX, query)", endErr)},
		{Recv: "*Tx", Name: "ExecContext", Signature: "(ctx context.Context, query string, args ...any) (Result, error)",
			Prologue: call("tx.db", `""`, "query", "args", "__r, __e", "tx.ExecContext(CTX, query, args...)", endErr)},
		{Recv: "*Tx", Name: "QueryContext", Signature: "(ctx context.Context, query string, args ...any) (*Rows, error)",
			Prologue: call("tx.db", `""`, "query", "args", "__r, __e", "tx.QueryContext(CTX, query, args...)", endRows)},
		{Recv: "*Tx", Name: "Commit", Signature: "() error",
			Prologue: "if __c := __ottoolexec_txEnd(tx, \"COMMIT\"); __c != nil { __e := tx.Commit(); __ottoolexec_finish(__c, __e, -1); return __e };"},
		{Recv: "*Tx", Name: "Rollback", Signature: "() error",
			Prologue: "if __c := __ottoolexec_txEnd(tx, \"ROLLBACK\"); __c != nil { __e := tx.Rollback(); __ottoolexec_finish(__c, __e, -1); return __e };"},

		{Recv: "*Stmt", Name: "ExecContext", Signature: "(ctx context.Context, args ...any) (Result, error)",
			Prologue: call("s.db", `""`, "s.query", "args", "__r, __e", "s.ExecContext(CTX, args...)", endErr)},
		{Recv: "*Stmt", Name: "QueryContext", Signature: "(ctx context.Context, args ...any) (*Rows, error)",
			Prologue: call("s.db", `""`, "s.query", "args", "__r, __e", "s.QueryContext(CTX, args...)", endRows)},

		// Rows: count what Next returns, end the query's span on close.
		{Recv: "*Rows", Name: "nextLocked", Signature: "() (doClose, ok bool)",
			Prologue: "if rs.__ottoolexec_call != nil { defer __ottoolexec_countRow(rs, &ok) };"},
		{Recv: "*Rows", Name: "close", Signature: "(err error) error",
			BeforeReturn: "__ottoolexec_rowsClosed(rs);"},
	},
	Fields: []hooks.Field{
		{Type: "DB", Decl: "__ottoolexec_info atomic.Value"},
		{Type: "Tx", Decl: "__ottoolexec_ctx context.Context"},
		{Type: "Tx", Decl: "__ottoolexec_ended atomic.Bool"},
		{Type: "Rows", Decl: "__ottoolexec_call context.Context"},
		{Type: "Rows", Decl: "__ottoolexec_rows int64"},
	},
	Files:   []hooks.File{{Name: "sql.go", Content: injectSQL}},
	Runtime: []string{"github.com/ottoolexec/ottoolexec/hooks/databasesql/trace"},
}
