package injector

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/ottoolexec/ottoolexec/hooks"
	"github.com/ottoolexec/ottoolexec/injector/resolve"
)

// selfID identifies this ottoolexec binary: its Go build ID, which changes
// whenever the binary does (and so whenever a rule, a splice or the
// embedded runtime does), or a hash of the executable when it has none.
var selfID = sync.OnceValues(func() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding ottoolexec's own executable: %w", err)
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", fmt.Errorf("reading ottoolexec's own executable: %w", err)
	}
	defer f.Close()
	// The linker writes the build ID near the start of the file on every
	// object format: `\xff Go build ID: "..."\n \xff`.
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	const marker = "\xff Go build ID: \""
	if i := bytes.Index(head, []byte(marker)); i >= 0 {
		rest := head[i+len(marker):]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			return string(rest[:j]), nil
		}
	}
	h := sha256.New()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing ottoolexec's own executable: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
})

// identity is what ottoolexec adds to the compiler's and linker's tool ID,
// and so to the key of every build cache entry: the binary itself, the
// integrations and exporters enabled, the module versions the runtime is built with, and
// the cache directory the runtime source is written under. It is a pure
// function of those inputs, so an unchanged build hits the cache; and it
// differs from a plain build's, so traced and plain archives never mix.
//
// The directory counts because the runtime's archives record its source
// files' paths, so their export fingerprints change with it; the go
// command does not know that a spliced package imports the runtime, so
// without it a package compiled against the runtime under one
// OTTOOLEXEC_CACHE would be reused with the runtime under another, and
// the link would fail with "fingerprint mismatch".
func identity(rules []*hooks.Rule, exporters []string, versions []resolve.Module, cacheDir string) (string, error) {
	self, err := selfID()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "ottoolexec %s\n", self)
	fmt.Fprintf(h, "cache %s\n", cacheDir)
	for _, r := range rules {
		fmt.Fprintf(h, "rule %s\n", r.Name)
	}
	for _, e := range exporters {
		fmt.Fprintf(h, "exporter %s\n", e)
	}
	for _, m := range versions {
		fmt.Fprintf(h, "module %s %s\n", m.Path, m.Version)
		if r := m.Replace; r != nil {
			fmt.Fprintf(h, "replaced by %s %s\n", r.Path, r.Version)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// withIdentity rewrites a tool's -V=full answer. For a release toolchain
// the go command keys on the whole line, so the identity is appended; for
// a development toolchain it keys on the content ID at the end of the
// buildID field, so the identity is appended to that.
func withIdentity(line, id string) string {
	line = strings.TrimRight(line, "\n")
	f := strings.Fields(line)
	if len(f) > 0 && strings.HasPrefix(f[len(f)-1], "buildID=") {
		return line + ".ottoolexec-" + id + "\n"
	}
	return line + " ottoolexec=" + id + "\n"
}
