package injector

import (
	"runtime/debug"
	"testing"

	"github.com/ottoolexec/ottoolexec/injector/resolve"
)

// The version recorded for ottoolexec's own module in a traced binary is
// the one this ottoolexec was built from, however it was installed.
func TestOwnModule(t *testing.T) {
	installed := &debug.BuildInfo{Main: debug.Module{Path: resolve.ModulePath, Version: "v0.3.0", Sum: "h1:x="}}
	if got := ownModule(installed); got.Version != "v0.3.0" {
		t.Errorf("go install ottoolexec@v0.3.0: %+v", got)
	}
	dep := &debug.Module{Path: resolve.ModulePath, Version: "v0.2.0", Sum: "h1:y="}
	asTool := &debug.BuildInfo{
		Main: debug.Module{Path: "example.com/app", Version: "(devel)"},
		Deps: []*debug.Module{{Path: "github.com/opentracing/opentracing-go", Version: "v1.2.0"}, dep},
	}
	if got := ownModule(asTool); got != *dep {
		t.Errorf("go tool ottoolexec in example.com/app: %+v, want %+v", got, *dep)
	}
	checkout := &debug.BuildInfo{Main: debug.Module{Path: resolve.ModulePath, Version: "(devel)"}}
	if got := ownModule(checkout); got.Version != "(devel)" {
		t.Errorf("built from a checkout: %+v", got)
	}
	unrelated := &debug.BuildInfo{Main: debug.Module{Path: "example.com/app"}}
	if got := ownModule(unrelated); got.Path != resolve.ModulePath || got.Version != "(devel)" {
		t.Errorf("no trace of ottoolexec's module: %+v", got)
	}
}
