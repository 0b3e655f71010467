package trace

import (
	"database/sql"
	"fmt"
	"strings"
	"unicode/utf8"
)

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

// FormatArgs renders bind arguments for the db.args tag: strings quoted,
// named arguments as name=value.
func FormatArgs(args []any) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		formatArg(&b, a)
	}
	b.WriteByte(']')
	return b.String()
}

func formatArg(b *strings.Builder, a any) {
	switch v := a.(type) {
	case string:
		fmt.Fprintf(b, "%q", v)
	case []byte:
		fmt.Fprintf(b, "0x%x", v)
	case fmt.Stringer:
		fmt.Fprintf(b, "%q", v.String())
	case sql.NamedArg:
		b.WriteString(v.Name)
		b.WriteByte('=')
		formatArg(b, v.Value)
	default:
		fmt.Fprintf(b, "%v", v)
	}
}
