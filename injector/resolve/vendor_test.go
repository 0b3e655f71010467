package resolve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckVendor checks which vendored modules a -mod=vendor build
// refuses: the runtime's always, the OTLP exporter's only when it is
// linked, each named with what needs it.
func TestCheckVendor(t *testing.T) {
	modulesTxt := func(t *testing.T, mod string) string {
		path := filepath.Join(t.TempDir(), "modules.txt")
		text := "# example.com/other v1.0.0\n## explicit\nexample.com/other\n# " + mod + " v1.0.0\n## explicit\n" + mod + "\n"
		if err := os.WriteFile(path, []byte(text), 0o666); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		mod  string
		otlp bool
		want string // "" for no error
	}{
		{"example.com/mine", false, ""},
		{"github.com/opentracing/opentracing-go", false, "which the tracing runtime also uses"},
		{"google.golang.org/grpc", false, ""},
		{"google.golang.org/grpc", true, "which the OTLP exporter (OTTOOLEXEC_EXPORTERS=otlp) also uses"},
		{"github.com/opentracing/opentracing-go", true, "which the tracing runtime also uses"},
	} {
		err := checkVendor(modulesTxt(t, tc.mod), tc.otlp)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s vendored, otlp %t: unexpected error %v", tc.mod, tc.otlp, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.mod)):
			t.Errorf("%s vendored, otlp %t: got %v, want an error naming it and %q", tc.mod, tc.otlp, err, tc.want)
		}
	}
}
