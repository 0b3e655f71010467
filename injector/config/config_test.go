package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// catalogue stands in for the real one: two plain integrations, one whose
// package path has dots, and a core one.
var catalogue = []Integration{
	{Name: "nethttp", Package: "net/http"},
	{Name: "sql", Package: "database/sql"},
	{Name: "grpc", Package: "google.golang.org/grpc"},
	{Name: "exit", Package: "os", Core: true},
}

const known = "known: nethttp (net/http), sql (database/sql), grpc (google.golang.org/grpc), exit (os)"

// moduleWith returns a module root holding an ottoolexec.yaml with text.
func moduleWith(t *testing.T, text string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, FileName), []byte(text), 0o666); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestSelectEnv(t *testing.T) {
	tests := []struct {
		env  string
		want string
	}{
		// Only the named ones (and core) when the list starts by adding.
		{"net/http,-database/sql", "nethttp exit"},
		{"nethttp", "nethttp exit"},
		{"google.golang.org/grpc,sql", "sql grpc exit"},
		// Everything but the removed ones when the list only removes.
		{"-nethttp", "sql grpc exit"},
		{"-nethttp,-google.golang.org/grpc", "sql exit"},
		// Items apply in order.
		{"nethttp,sql,-nethttp", "sql exit"},
		// A core integration may be named; it is on anyway.
		{"exit", "exit"},
		{"os,nethttp", "nethttp exit"},
		// Spaces and empty items are ignored.
		{" net/http , grpc ,", "nethttp grpc exit"},
	}
	for _, tt := range tests {
		enabled, source, err := Select(catalogue, tt.env, "")
		if err != nil {
			t.Errorf("%q: %v", tt.env, err)
			continue
		}
		if got := strings.Join(enabled, " "); got != tt.want || source != EnvVar {
			t.Errorf("%q: got %q from %q, want %q from %q", tt.env, got, source, tt.want, EnvVar)
		}
	}
}

func TestSelectDefault(t *testing.T) {
	for _, env := range []string{"", " ", ",", " , "} {
		enabled, source, err := Select(catalogue, env, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(enabled, " "); got != "nethttp sql grpc exit" || source != DefaultSource {
			t.Errorf("%q: got %q from %q, want all from %q", env, got, source, DefaultSource)
		}
	}
	// A module without the file.
	enabled, source, err := Select(catalogue, "", t.TempDir())
	if err != nil || len(enabled) != len(catalogue) || source != DefaultSource {
		t.Errorf("module without %s: got %q from %q, %v", FileName, enabled, source, err)
	}
}

func TestSelectEnvErrors(t *testing.T) {
	tests := []struct {
		env  string
		want string
	}{
		{"-exit", `OTTOOLEXEC_INTEGRATIONS: integration "exit" cannot be removed: the runtime needs it`},
		{"nethttp,-os", `OTTOOLEXEC_INTEGRATIONS: integration "exit" cannot be removed: the runtime needs it`},
		{"nethttp,redis", `OTTOOLEXEC_INTEGRATIONS: unknown integration "redis" (` + known + `)`},
		{"-net/htp", `OTTOOLEXEC_INTEGRATIONS: unknown integration "net/htp" (` + known + `)`},
		{"-nethttp,sql", `OTTOOLEXEC_INTEGRATIONS: "sql" enables an integration in a list that starts with a removal ("-nethttp"); ` +
			`either start with the integrations to enable (only those are on) or only remove`},
		{"net/http -database/sql", `OTTOOLEXEC_INTEGRATIONS: "net/http -database/sql": expected an integration name or import path, optionally after "-"`},
		{"nethttp,-", `OTTOOLEXEC_INTEGRATIONS: "-": expected an integration name or import path, optionally after "-"`},
	}
	for _, tt := range tests {
		_, _, err := Select(catalogue, tt.env, "")
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: got error\n\t%v\nwant\n\t%s", tt.env, err, tt.want)
		}
	}
}

func TestSelectFile(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"block", `# Which integrations this module's builds include.
integrations:
  - net/http   # the servers
  - -database/sql
`, "nethttp exit"},
		{"block, items not indented", "integrations:\n- -nethttp\n", "sql grpc exit"},
		{"inline", "integrations: [net/http, -database/sql]  # comment\n", "nethttp exit"},
		{"inline, removals only", "\n# comment\nintegrations: [ -grpc ]", "nethttp sql exit"},
		{"inline, empty", "integrations: []\n", "nethttp sql grpc exit"},
		{"quoted", "integrations:\n  - \"-nethttp\"\n  - '-sql'\n", "grpc exit"},
		{"CRLF", "integrations:\r\n  - grpc\r\n", "grpc exit"},
	}
	for _, tt := range tests {
		root := moduleWith(t, tt.file)
		enabled, source, err := Select(catalogue, "", root)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if want := filepath.Join(root, FileName); source != want {
			t.Errorf("%s: source %q, want %q", tt.name, source, want)
		}
		if got := strings.Join(enabled, " "); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestEnvOverridesFile expects the file not to be read, even a broken one,
// when the variable is set.
func TestEnvOverridesFile(t *testing.T) {
	root := moduleWith(t, "integrations: [nethttp]\nthis is not the expected shape\n")
	enabled, source, err := Select(catalogue, "sql", root)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(enabled, " "); got != "sql exit" || source != EnvVar {
		t.Errorf("got %q from %q, want %q from %q", got, source, "sql exit", EnvVar)
	}
}

func TestSelectFileErrors(t *testing.T) {
	tests := []struct {
		name, file, want string // want: the error after "ROOT/ottoolexec.yaml"
	}{
		{"empty", "", `:1: end of file: expected "integrations:" followed by "- NAME" lines or "integrations: [NAME, -NAME]"`},
		{"only comments", "# nothing yet\n", `:2: end of file: expected "integrations:" followed by "- NAME" lines or "integrations: [NAME, -NAME]"`},
		{"other key", "# c\nintegration:\n  - nethttp\n", `:2: "integration:": expected "integrations:" followed by "- NAME" lines or "integrations: [NAME, -NAME]"`},
		{"item before the key", "- nethttp\nintegrations:\n", `:1: "- nethttp": expected "integrations:" followed by "- NAME" lines or "integrations: [NAME, -NAME]"`},
		{"indented key", "  integrations: []\n", `:1: "integrations: []": expected "integrations:" followed by "- NAME" lines or "integrations: [NAME, -NAME]"`},
		{"scalar value", "integrations: nethttp\n", `:1: "nethttp": expected a list: "integrations: [NAME, -NAME]" or "integrations:" followed by "- NAME" lines`},
		{"no items", "integrations:\n# none\n", `:1: "integrations:" has no items: expected "- NAME" lines below it (or "integrations: []" for all)`},
		{"second key", "integrations:\n  - nethttp\nother: 1\n", `:3: "other: 1": expected a list item "- NAME" under "integrations:" (line 1)`},
		{"after an inline list", "integrations: [nethttp]\n  - sql\n", `:2: "- sql": expected nothing after the list on line 1`},
		{"dash without space", "integrations:\n  -database/sql\n", `:2: "-database/sql": expected a list item "- NAME" under "integrations:" (line 1)`},
		{"empty item", "integrations:\n  - nethttp\n  -\n", `:3: "-": expected a list item "- NAME" under "integrations:" (line 1)`},
		{"nested map", "integrations:\n  - nethttp: {}\n", `:2: "nethttp: {}": expected an integration name or import path, optionally after "-"`},
		{"uneven indentation", "integrations:\n  - nethttp\n    - sql\n", `:3: item indented by 4 spaces, the ones above by 2: expected the same`},
		{"tab", "integrations:\n\t- nethttp\n", `:2: tab in indentation: YAML indents with spaces`},
		{"inline, empty item", "integrations: [nethttp,,sql]\n", `:1: "": expected an integration name or import path, optionally after "-"`},
		{"unknown", "integrations:\n  - nethttp\n\n  - redis\n", `:4: unknown integration "redis" (` + known + `)`},
		{"core removed", "integrations:\n  - -nethttp\n  - -os\n", `:3: integration "exit" cannot be removed: the runtime needs it`},
		{"adding after removing", "integrations: [-nethttp, grpc]\n", `:1: "grpc" enables an integration in a list that starts with a removal ("-nethttp"); ` +
			`either start with the integrations to enable (only those are on) or only remove`},
	}
	for _, tt := range tests {
		root := moduleWith(t, tt.file)
		_, _, err := Select(catalogue, "", root)
		want := filepath.Join(root, FileName) + tt.want
		if err == nil || err.Error() != want {
			t.Errorf("%s: got error\n\t%v\nwant\n\t%s", tt.name, err, want)
		}
	}
}

// TestUnreadableFile expects a file that exists but cannot be read to be
// an error naming it, not a silent fall back to every integration.
func TestUnreadableFile(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, FileName)
	if err := os.Mkdir(path, 0o777); err != nil { // reading a directory fails for every user
		t.Fatal(err)
	}
	_, _, err := Select(catalogue, "", root)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("got error %v, want one naming %s", err, path)
	}
}

func TestSelectExporters(t *testing.T) {
	for env, want := range map[string]string{"": "", " , ": "", "otlp": "otlp", " OTLP ,otlp,": "otlp"} {
		got, err := SelectExporters(env)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("%q: got %q, %v; want %q", env, got, err, want)
		}
	}
	_, err := SelectExporters("otlp,zipkin")
	if want := `OTTOOLEXEC_EXPORTERS: unknown exporter "zipkin" (known: otlp)`; err == nil || err.Error() != want {
		t.Errorf("got error %v, want %s", err, want)
	}
}
