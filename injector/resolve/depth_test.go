package resolve

import (
	"strings"
	"testing"
)

// TestNestedDepth checks that resolution refuses to start one more go
// command past maxDepth nested ones, with a message that says so.
func TestNestedDepth(t *testing.T) {
	t.Setenv(depthEnv, "4")
	s := &Session{GoCmd: "go", modDir: t.TempDir()}
	_, err := s.list(nil, []string{"list", "-e", "std"})
	if err == nil || !strings.Contains(err.Error(), "nested go commands 4 deep") {
		t.Fatalf("list at depth 4: got error %v, want one about the depth", err)
	}
}
