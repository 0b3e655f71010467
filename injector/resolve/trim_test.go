package resolve

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTrim(t *testing.T) {
	root := t.TempDir()
	old := filepath.Join(root, "old")
	fresh := filepath.Join(root, "fresh")
	for _, d := range []string{old, fresh} {
		if err := os.Mkdir(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-2 * trimAge)
	os.Chtimes(old, long, long)
	trim(root)
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("trim kept a memo unused for %v", 2*trimAge)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("trim removed a memo in use: %v", err)
	}
	// Within trimInterval of the last trim, nothing is scanned.
	os.Chtimes(fresh, long, long)
	trim(root)
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("trim ran again within %v", trimInterval)
	}
}
