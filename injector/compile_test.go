package injector

import "testing"

// The go command names a package compiled for another package's test
// binary "L [T.test]" in TOOLEXEC_IMPORTPATH.
func TestTestedBy(t *testing.T) {
	for _, tc := range []struct {
		importPath, tested string
		ok                 bool
	}{
		{"google.golang.org/grpc [net/http.test]", "net/http", true},
		{"net/http [net/http.test]", "net/http", true},
		{"example.com/m/a [example.com/m/a.test]", "example.com/m/a", true},
		{"google.golang.org/grpc", "", false},
		{"net/http.test", "", false}, // the test's main package
		{"example.com/m/a [weird]", "", false},
		{"", "", false},
	} {
		tested, ok := testedBy(tc.importPath)
		if tested != tc.tested || ok != tc.ok {
			t.Errorf("testedBy(%q) = %q, %v; want %q, %v", tc.importPath, tested, ok, tc.tested, tc.ok)
		}
	}
}
