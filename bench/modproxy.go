package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// writeModProxy writes a file-based module proxy under dir that serves the
// working tree of the ottoolexec checkout as one published version, the
// way cmd/ottoolexec's modproxy script command does: a program that
// imports runtime/ottrace then requires ottoolexec like any library, and a
// traced build of it finds the runtime it links in the module cache.
// (A `replace github.com/ottoolexec/ottoolexec => ../..` directive does
// not do: ottoolexec asks `go mod download -json` for the required
// version's directory, which prints nothing for a directory replacement.)
//
// The version is v0.1.0 with a prerelease suffix made of the content, since
// the module cache never refreshes a version it has seen. It returns the
// version.
func (b *bench) writeModProxy(ctx context.Context, dir string) (string, error) {
	out, err := runCmd(ctx, "listing the checkout's files", b.root, os.Environ(), "git", "ls-files", "-co", "--exclude-standard")
	if err != nil {
		return "", err
	}
	var files []zip.File
	for _, name := range strings.Split(strings.TrimSpace(string(out.Stdout)), "\n") {
		if strings.HasPrefix(name, "examples/") || strings.HasPrefix(name, "bench/") {
			continue // other modules
		}
		if info, err := os.Stat(filepath.Join(b.root, name)); err == nil && info.Mode().IsRegular() {
			files = append(files, checkoutFile{b.root, name})
		}
	}
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(b.root, f.Path()))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", f.Path(), len(data))
		h.Write(data)
	}
	mod := module.Version{Path: "github.com/ottoolexec/ottoolexec", Version: fmt.Sprintf("v0.1.0-bench-%x", h.Sum(nil)[:6])}
	vdir := filepath.Join(dir, mod.Path, "@v")
	if err := os.MkdirAll(vdir, 0o777); err != nil {
		return "", err
	}
	var zipData bytes.Buffer
	if err := zip.Create(&zipData, mod, files); err != nil {
		return "", fmt.Errorf("zipping the checkout as %s: %w", mod, err)
	}
	gomod, err := os.ReadFile(filepath.Join(b.root, "go.mod"))
	if err != nil {
		return "", err
	}
	base := filepath.Join(vdir, mod.Version)
	for name, data := range map[string][]byte{
		filepath.Join(vdir, "list"): []byte(mod.Version + "\n"),
		base + ".info":              fmt.Appendf(nil, `{"Version":%q,"Time":"2026-01-01T00:00:00Z"}`, mod.Version),
		base + ".mod":               gomod,
		base + ".zip":               zipData.Bytes(),
	} {
		if err := os.WriteFile(name, data, 0o666); err != nil {
			return "", err
		}
	}
	return mod.Version, nil
}

type checkoutFile struct{ root, name string }

func (f checkoutFile) Path() string                 { return f.name }
func (f checkoutFile) Lstat() (os.FileInfo, error)  { return os.Lstat(filepath.Join(f.root, f.name)) }
func (f checkoutFile) Open() (io.ReadCloser, error) { return os.Open(filepath.Join(f.root, f.name)) }
