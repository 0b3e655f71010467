package resolve

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOTLPModule vets and tests the OTLP exporter as it is written out
// beside the runtime. It is a module of its own, stored under a "_"
// directory, so `go vet ./...` and `go test ./...` of this module do not
// see it; this test does, with the go.mod and go.sum it ships with.
func TestOTLPModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the OpenTelemetry SDK")
	}
	src, err := WriteSource(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(src, filepath.FromSlash(otlpOut))
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gomod), "module "+OTLPModulePath+"\n") {
		t.Fatalf("written-out go.mod:\n%s", gomod)
	}
	for _, args := range [][]string{{"vet", "./..."}, {"test", "-count=1", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
		}
	}
}
