// Package sqltrace is what the SQL integrations share: the span name taken
// from a statement, the db.statement and db.args tags, and the settings
// that bound them. database/sql (hooks/databasesql) and pgx's native
// interface (hooks/pgx) name and tag their spans the same way through it.
package sqltrace

import (
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opentracing/opentracing-go"

	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

// ArgsTag holds the bind arguments, recorded only with
// OTTOOLEXEC_SQL_ARGS=1.
const ArgsTag = "db.args"

// DefaultMaxStatement is how many bytes of a statement db.statement keeps
// by default.
const DefaultMaxStatement = 1024

// Settings read once at start-up:
//
//	OTTOOLEXEC_SQL_MAX_STATEMENT  bytes of db.statement kept (default 1024; 0 leaves it out)
//	OTTOOLEXEC_SQL_ARGS=1         also record the bind arguments as db.args
var (
	MaxStatement = DefaultMaxStatement
	RecordArgs   bool
)

func init() {
	if spans.Disabled() {
		return
	}
	MaxStatement = maxStatementEnv(os.Getenv("OTTOOLEXEC_SQL_MAX_STATEMENT"))
	RecordArgs = spans.EnvFlag("OTTOOLEXEC_SQL_ARGS")
}

// maxStatementEnv reads OTTOOLEXEC_SQL_MAX_STATEMENT: a byte count, 0 to
// leave statements out. A value that is not one keeps the default and
// says so (once: this runs at init).
func maxStatementEnv(v string) int {
	v = strings.TrimSpace(v)
	if v == "" {
		return DefaultMaxStatement
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "ottoolexec: OTTOOLEXEC_SQL_MAX_STATEMENT=%q is not a number of bytes; using %d\n", v, DefaultMaxStatement)
		return DefaultMaxStatement
	}
	return n
}

// SetStatement tags span with query as db.statement, cut to
// MaxStatement bytes; with a limit of 0, or no query, it does nothing.
func SetStatement(span opentracing.Span, query string) {
	if query != "" && MaxStatement > 0 {
		span.SetTag(string(spans.DBStatement), Truncate(query, MaxStatement))
	}
}

// SetArgs tags span with the bind arguments as db.args, when RecordArgs
// says so, cut like statements (to no less than the default limit).
func SetArgs(span opentracing.Span, args []any) {
	if RecordArgs && len(args) > 0 {
		span.SetTag(ArgsTag, FormatArgs(args, max(MaxStatement, DefaultMaxStatement)))
	}
}

// Operation names a statement by its first keyword, upper-cased: SELECT,
// INSERT, WITH, BEGIN... Leading white space, comments and opening
// parentheses are skipped. A statement with no keyword is "SQL".
func Operation(query string) string {
	s := query
	for {
		s = strings.TrimLeft(s, " \t\r\n\f(;")
		switch {
		case strings.HasPrefix(s, "--"), strings.HasPrefix(s, "#"):
			_, rest, ok := strings.Cut(s, "\n")
			if !ok {
				return "SQL"
			}
			s = rest
			continue
		case strings.HasPrefix(s, "/*"):
			_, rest, ok := strings.Cut(s[2:], "*/")
			if !ok {
				return "SQL"
			}
			s = rest
			continue
		}
		break
	}
	end := 0
	for end < len(s) {
		c := s[end]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
			end++
			continue
		}
		break
	}
	if end == 0 {
		return "SQL"
	}
	return upperKeyword(s[:end])
}

// keywords are the statements' first words that are named without
// allocating, whatever their case.
var keywords = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "BEGIN", "COMMIT", "ROLLBACK",
	"START", "SAVEPOINT", "RELEASE", "CREATE", "DROP", "ALTER", "TRUNCATE", "REPLACE", "MERGE", "UPSERT",
	"SET", "SHOW", "CALL", "EXEC", "EXECUTE", "EXPLAIN", "VALUES", "PRAGMA", "COPY", "USE", "DO", "LOCK",
	"GRANT", "REVOKE", "ANALYZE", "VACUUM", "DECLARE", "FETCH", "CLOSE", "LISTEN", "NOTIFY", "PREPARE"}

// upperKeyword upper-cases word, an ASCII word, without allocating when
// it already is or is a common keyword.
func upperKeyword(word string) string {
	lower := false
	for i := 0; i < len(word); i++ {
		if 'a' <= word[i] && word[i] <= 'z' {
			lower = true
			break
		}
	}
	if !lower {
		return word
	}
	for _, k := range keywords {
		if strings.EqualFold(word, k) {
			return k
		}
	}
	return strings.ToUpper(word)
}

// Truncate cuts s to at most n bytes, on a UTF-8 character boundary.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// FormatArgs renders bind arguments for the db.args tag, cut to at most
// limit bytes: strings and Stringers quoted, byte slices in hex, named
// arguments as name=value, anything else as fmt's %v does. A long argument
// is cut before it is formatted whole, so a 10 MB blob costs no 20 MB
// string.
func FormatArgs(args []any, limit int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, a := range args {
		if b.Len() >= limit {
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		formatArg(&b, a, limit)
	}
	b.WriteByte(']')
	return Truncate(b.String(), limit)
}

func formatArg(b *strings.Builder, a any, limit int) {
	switch v := a.(type) {
	case string:
		b.WriteString(strconv.Quote(Truncate(v, limit)))
	case []byte:
		fmt.Fprintf(b, "0x%x", v[:min(len(v), limit/2+1)])
	case fmt.Stringer:
		b.WriteString(strconv.Quote(v.String()))
	case sql.NamedArg:
		b.WriteString(v.Name)
		b.WriteByte('=')
		formatArg(b, v.Value, limit)
	default:
		fmt.Fprintf(b, "%v", v)
	}
}
