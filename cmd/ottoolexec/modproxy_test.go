package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// cmdModProxy writes a file-based module proxy that serves this checkout
// of ottoolexec as a published version, so scripts can do what a user of
// a released ottoolexec does (go get -tool, go tool ottoolexec) without
// publishing anything. Point GOPROXY at file://DIR first. The version is
// v0.1.0 with a prerelease suffix made of the checkout's content, since
// the module cache never refreshes a version it has seen; the script finds
// it in $OTTOOLEXEC_VERSION.
//
//	modproxy DIR
func cmdModProxy(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: modproxy dir")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	ts.Check(err)

	// The files git knows, so built binaries and scratch files stay out.
	out, err := exec.Command("git", "-C", root, "ls-files", "-co", "--exclude-standard").Output()
	if err != nil {
		ts.Fatalf("listing the checkout's files: %v", err)
	}
	var files []zip.File
	for _, name := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(name, "examples/") || strings.HasPrefix(name, "bench/") || strings.HasPrefix(name, "internal/composecheck/") {
			continue // other modules
		}
		if _, err := os.Stat(filepath.Join(root, name)); err == nil {
			files = append(files, checkoutFile{root, name})
		}
	}
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, f.Path()))
		ts.Check(err)
		fmt.Fprintf(h, "%s %d\n", f.Path(), len(data))
		h.Write(data)
	}
	mod := module.Version{Path: "github.com/ottoolexec/ottoolexec", Version: fmt.Sprintf("v0.1.0-t.%x", h.Sum(nil)[:6])}
	dir := filepath.Join(ts.MkAbs(args[0]), mod.Path, "@v")
	ts.Check(os.MkdirAll(dir, 0o777))
	var zipData bytes.Buffer
	ts.Check(zip.Create(&zipData, mod, files))
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	ts.Check(err)
	base := filepath.Join(dir, mod.Version)
	ts.Check(os.WriteFile(filepath.Join(dir, "list"), []byte(mod.Version+"\n"), 0o666))
	ts.Check(os.WriteFile(base+".info", fmt.Appendf(nil, `{"Version":%q,"Time":"2026-01-01T00:00:00Z"}`, mod.Version), 0o666))
	ts.Check(os.WriteFile(base+".mod", gomod, 0o666))
	ts.Check(os.WriteFile(base+".zip", zipData.Bytes(), 0o666))
	ts.Setenv("OTTOOLEXEC_VERSION", mod.Version)
}

type checkoutFile struct{ root, name string }

func (f checkoutFile) Path() string                 { return f.name }
func (f checkoutFile) Lstat() (os.FileInfo, error)  { return os.Lstat(filepath.Join(f.root, f.name)) }
func (f checkoutFile) Open() (io.ReadCloser, error) { return os.Open(filepath.Join(f.root, f.name)) }

// cmdPublish adds a module the script wrote to a file-based module proxy,
// as if it were published at a version, for `go install module@version`.
// Point GOPROXY at file://PROXYDIR (before the real proxy) and GONOSUMDB
// at the module path.
//
//	publish PROXYDIR MODPATH VERSION SRCDIR
func cmdPublish(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: publish proxydir modpath version srcdir")
	}
	mod := module.Version{Path: args[1], Version: args[2]}
	src := ts.MkAbs(args[3])
	dir := filepath.Join(ts.MkAbs(args[0]), mod.Path, "@v")
	ts.Check(os.MkdirAll(dir, 0o777))
	var zipData bytes.Buffer
	ts.Check(zip.CreateFromDir(&zipData, mod, src))
	gomod, err := os.ReadFile(filepath.Join(src, "go.mod"))
	ts.Check(err)
	base := filepath.Join(dir, mod.Version)
	list, _ := os.ReadFile(filepath.Join(dir, "list"))
	ts.Check(os.WriteFile(filepath.Join(dir, "list"), append(list, mod.Version+"\n"...), 0o666))
	ts.Check(os.WriteFile(base+".info", fmt.Appendf(nil, `{"Version":%q,"Time":"2026-01-01T00:00:00Z"}`, mod.Version), 0o666))
	ts.Check(os.WriteFile(base+".mod", gomod, 0o666))
	ts.Check(os.WriteFile(base+".zip", zipData.Bytes(), 0o666))
}
