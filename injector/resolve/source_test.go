package resolve

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/ottoolexec/ottoolexec/hooks/catalog"
)

// TestRuntimeModules checks RuntimeModules against what the runtime
// packages really import: a module missing from the list would be missing
// from the written-out runtime's go.mod, and the nested build would fail.
func TestRuntimeModules(t *testing.T) {
	pkgs := []string{"github.com/ottoolexec/ottoolexec/runtime/boot"}
	for _, r := range catalog.Rules {
		pkgs = append(pkgs, r.Runtime...)
		for _, p := range r.Imports {
			pkgs = append(pkgs, p)
		}
	}
	args := append([]string{"list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}"}, pkgs...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var got []string
	for _, m := range strings.Fields(string(out)) {
		if m != ModulePath && !slices.Contains(got, m) {
			got = append(got, m)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, RuntimeModules) {
		t.Errorf("the runtime imports packages of\n\t%q\nbut RuntimeModules is\n\t%q", got, RuntimeModules)
	}
}

func TestRuntimeGoMod(t *testing.T) {
	gomod, gosum, err := RuntimeGoMod()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range RuntimeModules {
		if !strings.Contains(string(gomod), "\t"+m+" v") {
			t.Errorf("runtime go.mod does not require %s:\n%s", m, gomod)
		}
		if !strings.Contains(string(gosum), m+" ") {
			t.Errorf("runtime go.sum has no line for %s", m)
		}
	}
	if strings.Contains(string(gomod), "golang.org/x/tools") {
		t.Errorf("runtime go.mod carries a build-time requirement:\n%s", gomod)
	}
}

func TestWriteSourceIsStable(t *testing.T) {
	cache := t.TempDir()
	a, err := WriteSource(cache)
	if err != nil {
		t.Fatal(err)
	}
	b, err := WriteSource(cache)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("WriteSource wrote %s, then %s", a, b)
	}
	out, err := exec.Command("go", "-C", a, "list", "./runtime/boot").CombinedOutput()
	if err != nil {
		t.Errorf("the written-out runtime does not load: %v\n%s", err, out)
	}
}
