// Package pgx traces github.com/jackc/pgx/v5 used natively (pgx.Conn and
// pgxpool.Pool, which builds its connections through pgx.ConnectConfig).
//
// Every pgx connection is made by the unexported function connect, which
// gets a prologue that puts ottoolexec's tracer in front of the
// connection's ConnConfig.Tracer: pgx then calls it for every statement
// (Query, QueryRow, Exec, and the BEGIN, COMMIT and ROLLBACK of
// transactions), every SendBatch and every CopyFrom, and it hands each
// call on to the tracer the program set, if any. The user's config keeps
// its own tracer: connect works on a copy, and the prologue puts the
// program's tracer back when connect returns, so Conn.Config() shows it.
//
// The tracer is a type in a file added to package pgx (it has to implement
// pgx's interfaces); it calls the runtime half in ./trace with plain
// values. Through pgx/v5/stdlib, database/sql makes the span and marks the
// context, and the tracer makes none: one span per statement, not two.
//
// What the added file uses of pgx (the five tracer interfaces, their data
// structs, ConnConfig's Tracer, Database, User, Host and Port, Batch.Len,
// Identifier.Sanitize, ErrNoRows) is exported API that semantic versioning
// keeps within v5: a v5 release can add optional tracer interfaces, but
// cannot add methods to these or drop fields. An optional interface added
// later and looked up on ConnConfig.Tracer by pgx.Conn would not reach the
// program's tracer through ottoolexec's; pgxpool's AcquireTracer and
// ReleaseTracer are looked up on the pool's config, which keeps the
// program's tracer, so they do.
package pgx

import (
	_ "embed"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_pgx.go.txt
var injectPgx string

// TracePackage is the runtime half, which the added file imports.
const TracePackage = "github.com/ottoolexec/ottoolexec/hooks/pgx/trace"

// Rule is the pgx integration.
var Rule = &hooks.Rule{
	Name:    "pgx",
	Doc:     "pgx/v5 and pgxpool: spans for statements, batches, COPY and transactions",
	Package: "github.com/jackc/pgx/v5",
	Tested:  []string{"v5.5.5", "v5.12.0"},
	Funcs: []hooks.Func{
		{
			Name:      "connect",
			Signature: "(ctx context.Context, config *ConnConfig) (c *Conn, err error)",
			Prologue:  "if config != nil { __ottoolexec_own := config.Tracer; config.Tracer = __ottoolexec_tracerFor(config); defer func() { config.Tracer = __ottoolexec_own }() };",
		},
		{
			// Not changed, only checked: connect has had this signature
			// since the first v5 pre-release, but ConnConfig.Tracer and
			// the tracer interfaces the added file implements arrived
			// with the rows type that carries the query tracer
			// (v5.0.0-alpha.5). Earlier pre-releases, which logged
			// instead, have getRows return *connRows.
			Recv:      "*Conn",
			Name:      "getRows",
			Signature: "(ctx context.Context, sql string, args []any) *baseRows",
		},
	},
	Files: []hooks.File{{Name: "tracer.go", Content: injectPgx}},
	// The added file imports the runtime half by name; listing it here
	// puts it in the compile's import config and the link (the spliced
	// conn.go, which calls only the added file, imports it blank).
	Imports: map[string]string{"_": TracePackage},
}
