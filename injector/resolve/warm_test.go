package resolve

import (
	"slices"
	"testing"
)

// TestWarmSet checks what the background compile takes on, from a go list
// -deps of a runtime shaped like the real one: not net/http nor what it
// depends on (compiled by the build already), not what imports net/http
// (it must wait for the build's), but everything else.
func TestWarmSet(t *testing.T) {
	listed := []listed{
		{ImportPath: "fmt"},
		{ImportPath: "net", Deps: []string{"fmt"}},
		{ImportPath: "compress/zlib", Deps: []string{"fmt"}},
		{ImportPath: "net/http", Deps: []string{"fmt", "net"}},
		{ImportPath: "example.com/thrift", Deps: []string{"compress/zlib", "fmt"}},
		{ImportPath: "example.com/opentracing", Deps: []string{"fmt", "net", "net/http"}},
		{ImportPath: "example.com/jaeger", Deps: []string{"compress/zlib", "example.com/opentracing", "example.com/thrift", "fmt", "net", "net/http"}},
	}
	got := warmSet(listed, "net/http")
	want := []string{"compress/zlib", "example.com/thrift"}
	if !slices.Equal(got, want) {
		t.Errorf("warmSet = %v, want %v", got, want)
	}
	// Without net/http in the list, what the build has compiled is
	// unknown: nothing is warmed rather than the standard library twice.
	if got := warmSet(listed[:3], "net/http"); got != nil {
		t.Errorf("warmSet without net/http = %v, want none", got)
	}
}
