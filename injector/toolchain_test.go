package injector

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ottoolexec/ottoolexec/hooks"
	"github.com/ottoolexec/ottoolexec/injector/splice"
)

// A standard library rule applies only under the Go minor releases it is
// tested with, read from the VERSION file of the target's GOROOT.
func TestUntestedToolchain(t *testing.T) {
	rule := &hooks.Rule{Name: "nethttp", Package: "net/http", Std: true, Tested: []string{"go1.26.8"}}
	for _, tc := range []struct {
		version string // first line of GOROOT/VERSION; "" for no file
		want    string // substring of the note; "" for none
	}{
		{"go1.26.8", ""},
		{"go1.26.2", ""}, // same minor release
		{"go1.27.3", "the toolchain is go1.27.3, and the nethttp rule is written for go1.26.8 only"},
		{"go1.25.0", "the toolchain is go1.25.0"},
		{"devel go1.28-abcdef Tue Jan 1", "devel go1.28-abcdef"},
		{"", ""}, // unknown layout: left to the signature check
	} {
		goroot := t.TempDir()
		dir := filepath.Join(goroot, "src", "net", "http")
		if err := os.MkdirAll(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if tc.version != "" {
			if err := os.WriteFile(filepath.Join(goroot, "VERSION"), []byte(tc.version+"\ntime 2026-01-01T00:00:00Z\n"), 0o666); err != nil {
				t.Fatal(err)
			}
		}
		srcs := []splice.Source{{Path: filepath.Join(dir, "client.go")}}
		got := untestedToolchain(rule, srcs)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("VERSION %q: note %q, want %q", tc.version, got, tc.want)
		}
	}
	// Rules for modules outside the standard library go by their own
	// versions, not Go's.
	pgx := &hooks.Rule{Name: "pgx", Package: "github.com/jackc/pgx/v5", Tested: []string{"v5.5.5"}}
	if got := untestedToolchain(pgx, []splice.Source{{Path: "/mod/github.com/jackc/pgx/v5@v5.5.5/conn.go"}}); got != "" {
		t.Errorf("non-std rule: note %q", got)
	}
}
