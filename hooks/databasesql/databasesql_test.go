package databasesql

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ottoolexec/ottoolexec/injector/splice"
)

// stdSources reads this toolchain's database/sql.
func stdSources(t *testing.T) []splice.Source {
	t.Helper()
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	paths, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(goroot)), "src", "database", "sql", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var srcs []splice.Source
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, splice.Source{Path: p, Data: data})
	}
	if len(srcs) == 0 {
		t.Fatal("no database/sql source in GOROOT")
	}
	return srcs
}

// The rule fits the database/sql of the toolchain it is tested with.
func TestRuleFitsThisToolchain(t *testing.T) {
	changed, err := splice.Apply(stdSources(t), Rule.Funcs, Rule.Fields...)
	if err != nil {
		t.Fatalf("the rule does not fit %s's database/sql: %v", runtime.Version(), err)
	}
	var sqlGo []byte
	for path, data := range changed {
		if filepath.Base(path) == "sql.go" {
			sqlGo = data
		}
	}
	for _, want := range []string{"__ottoolexec_open(driverName, dataSourceName)", "__ottoolexec_txEnd(tx, \"COMMIT\")",
		"__ottoolexec_rowsClosed(rs);", "__ottoolexec_info atomic.Value;"} {
		if !bytes.Contains(sqlGo, []byte(want)) {
			t.Errorf("spliced sql.go lacks %q", want)
		}
	}
}

// A database/sql whose methods are declared otherwise (another Go
// release) is a misfit: nothing is changed, and the injector builds it
// untouched with a note.
func TestRuleMisfit(t *testing.T) {
	for _, c := range []struct{ old, new, fn string }{
		{"func (tx *Tx) Commit() error {", "func (tx *Tx) Commit(ctx context.Context) error {", "(*Tx).Commit"},
		{"func (rs *Rows) nextLocked() (doClose, ok bool) {", "func (rs *Rows) nextLocked() (doClose bool, ok bool) {", "(*Rows).nextLocked"},
		{"type Rows struct {", "type Rows2 struct {", "type Rows"},
	} {
		srcs := stdSources(t)
		replaced := false
		for i := range srcs {
			if bytes.Contains(srcs[i].Data, []byte(c.old)) {
				srcs[i].Data = bytes.Replace(srcs[i].Data, []byte(c.old), []byte(c.new), 1)
				replaced = true
			}
		}
		if !replaced {
			t.Fatalf("%q is not in database/sql", c.old)
		}
		changed, err := splice.Apply(srcs, Rule.Funcs, Rule.Fields...)
		var misfit *splice.MisfitError
		if !errors.As(err, &misfit) {
			t.Errorf("with %q: got %v, want a misfit", c.new, err)
			continue
		}
		if !strings.Contains(err.Error(), c.fn) || changed != nil {
			t.Errorf("with %q: misfit %q (changes: %d), want one naming %s and no change", c.new, err, len(changed), c.fn)
		}
	}
}
