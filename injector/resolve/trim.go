package resolve

import (
	"os"
	"path/filepath"
	"time"
)

// Memo directories are keyed by go.mod contents, build flags and more, so
// they pile up as projects change. Like the go command's build cache,
// ottoolexec deletes the ones unused for trimAge, checking at most once
// per trimInterval; a directory counts as used when its mtime is recent,
// which Open refreshes at most once per touchInterval.
const (
	trimAge       = 30 * 24 * time.Hour
	trimInterval  = 24 * time.Hour
	touchInterval = time.Hour
)

// touch marks dir as used.
func touch(dir string) {
	if info, err := os.Stat(dir); err == nil && time.Since(info.ModTime()) > touchInterval {
		now := time.Now()
		os.Chtimes(dir, now, now)
	}
}

// trim removes memo directories under root that have not been used for
// trimAge. Errors are ignored: trimming is housekeeping.
func trim(root string) {
	stamp := filepath.Join(root, "trim.txt")
	if info, err := os.Stat(stamp); err == nil && time.Since(info.ModTime()) < trimInterval {
		return
	}
	os.WriteFile(stamp, []byte(time.Now().Format(time.RFC3339)+"\n"), 0o666)
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > trimAge {
			os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}
