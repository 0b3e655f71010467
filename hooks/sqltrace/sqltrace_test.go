package sqltrace

import (
	"database/sql"
	"runtime"
	"testing"
	"time"

	"github.com/ottoolexec/ottoolexec/runtime/spans/spanstest"
)

func TestOperation(t *testing.T) {
	for query, want := range map[string]string{
		"select 1":                           "SELECT",
		"  \n\tInsert into t values (1)":     "INSERT",
		"/* app=x */ UPDATE t SET a = 1":     "UPDATE",
		"-- note\n-- more\ndelete from t":    "DELETE",
		"# mysql comment\nREPLACE INTO t":    "REPLACE",
		"((SELECT 1) UNION (SELECT 2))":      "SELECT",
		"with x as (select 1) select * ...":  "WITH",
		"BEGIN;":                             "BEGIN",
		"begin isolation level serializable": "BEGIN",
		"; commit":                           "COMMIT",
		"":                                   "SQL",
		"/* never closed":                    "SQL",
		"-- only a comment":                  "SQL",
		"123":                                "SQL",
		"create_thing()":                     "CREATE_THING",
		"Vacuum full":                        "VACUUM",
		"selectx 1":                          "SELECTX",
	} {
		if got := Operation(query); got != want {
			t.Errorf("Operation(%q) = %q, want %q", query, got, want)
		}
	}
	// Common statements are named without allocating, whatever their case.
	for _, query := range []string{"select 1", "Insert into t values (1)", "UPDATE t SET a = 1"} {
		if n := testing.AllocsPerRun(100, func() { _ = Operation(query) }); n != 0 {
			t.Errorf("Operation(%q) allocates %v times", query, n)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"SELECT 1", 100, "SELECT 1"},
		{"SELECT 1", 8, "SELECT 1"},
		{"SELECT 1", 6, "SELECT"},
		{"é", 1, ""},
		{"é_é", 1, ""}, // é is two bytes: no half character
		{"aé", 2, "a"},
		{"aéb", 3, "aé"},
		{"a€b", 3, "a"}, // € is three bytes
		{"x", 0, ""},
	} {
		if got := Truncate(c.s, c.n); got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

func TestFormatArgs(t *testing.T) {
	got := FormatArgs([]any{1, "a\"b", []byte{0xca, 0xfe}, nil, sql.Named("id", int64(7)), true,
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, 1024)
	want := `[1, "a\"b", 0xcafe, <nil>, id=7, true, "2026-01-02 03:04:05 +0000 UTC"]`
	if got != want {
		t.Errorf("FormatArgs = %s, want %s", got, want)
	}
	// A large argument is cut to the limit, and is not formatted whole on
	// the way: the allocations stay far below its 2 MB of hex.
	blob := make([]byte, 1<<20)
	if got := FormatArgs([]any{blob, "x"}, 64); len(got) != 64 || got[:4] != "[0x0" {
		t.Errorf("FormatArgs of a 1 MB blob, limit 64: %d bytes %q", len(got), got)
	}
	var m1, m2 runtime.MemStats
	runtime.ReadMemStats(&m1)
	FormatArgs([]any{blob}, 64)
	runtime.ReadMemStats(&m2)
	if n := m2.TotalAlloc - m1.TotalAlloc; n > 64<<10 {
		t.Errorf("FormatArgs of a 1 MB blob, limit 64, allocated %d bytes", n)
	}
}

func TestMaxStatementEnv(t *testing.T) {
	for v, want := range map[string]int{"": 1024, "10": 10, "0": 0, " 64 ": 64, "-1": 1024, "lots": 1024} {
		if got := maxStatementEnv(v); got != want {
			t.Errorf("maxStatementEnv(%q) = %d, want %d", v, got, want)
		}
	}
}

// TestSetStatementAndArgs checks the tags under the settings: cut to
// MaxStatement, left out with 0; arguments only with RecordArgs.
func TestSetStatementAndArgs(t *testing.T) {
	defer func(n int, a bool) { MaxStatement, RecordArgs = n, a }(MaxStatement, RecordArgs)
	tracer := spanstest.UseMock(t)
	for _, c := range []struct {
		max        int
		args       bool
		statement  any
		argsTagged any
	}{
		{1024, false, "SELECT $1", nil},
		{6, true, "SELECT", "[7]"},
		{0, false, nil, nil},
	} {
		MaxStatement, RecordArgs = c.max, c.args
		span := tracer.StartSpan("q")
		SetStatement(span, "SELECT $1")
		SetArgs(span, []any{7})
		span.Finish()
		finished := tracer.FinishedSpans()
		got := finished[len(finished)-1]
		if got.Tag("db.statement") != c.statement || got.Tag(ArgsTag) != c.argsTagged {
			t.Errorf("MaxStatement %d, RecordArgs %t: db.statement %v, db.args %v; want %v, %v",
				c.max, c.args, got.Tag("db.statement"), got.Tag(ArgsTag), c.statement, c.argsTagged)
		}
	}
}
