package resolve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/mod/modfile"

	ottoolexec "github.com/ottoolexec/ottoolexec"
)

// ModulePath is the path of ottoolexec's module, which the runtime is
// written out as.
const ModulePath = "github.com/ottoolexec/ottoolexec"

// runtimeGoVersion is the go line of the written-out runtime module: the
// oldest Go whose linker accepts the //go:linkname pushes the std hooks use.
const runtimeGoVersion = "1.23"

// RuntimeModules are the modules the runtime's packages import. Their
// versions come from ottoolexec's own go.mod; TestRuntimeModules checks the
// list against `go list -deps` of the runtime.
var RuntimeModules = []string{
	"github.com/opentracing/opentracing-go",
	"github.com/pkg/errors",
	"github.com/uber/jaeger-client-go",
	"github.com/uber/jaeger-lib",
	"go.uber.org/atomic",
}

// OTLPModulePath is the module of the OTLP exporter, which a build requires
// only when it selects that exporter; OTLPPackage is its package.
const (
	OTLPModulePath = ModulePath + "/runtime/otlp"
	OTLPPackage    = OTLPModulePath
)

// otlpDir is where the OTLP module is stored in the embedded source, and
// otlpOut where it is written out, relative to the runtime module: at the
// directory its module path names, so its go.mod's replace of the runtime
// module (../..) holds both in this repository and written out.
const (
	otlpDir = "runtime/_otlp"
	otlpOut = "runtime/otlp"
)

// otlpName maps the stored names of the OTLP module's files to the names
// they are written out under.
func otlpName(stored string) string {
	switch stored {
	case "go.mod.txt":
		return "go.mod"
	case "go.sum.txt":
		return "go.sum"
	}
	return stored
}

var sourceHash = sync.OnceValues(func() (string, error) {
	h := sha256.New()
	for _, fsys := range []fs.FS{ottoolexec.Source, ottoolexec.OTLPSource} {
		err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			return hashFile(h, fsys, path)
		})
		if err != nil {
			return "", fmt.Errorf("hashing the embedded runtime source: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
})

// OTLPGoSum returns the go.sum of the OTLP module, which a build selecting
// it merges into its temporary go.sum.
func OTLPGoSum() ([]byte, error) {
	return fs.ReadFile(ottoolexec.OTLPSource, otlpDir+"/go.sum.txt")
}

// otlpModules returns every module the OTLP exporter's go.mod requires,
// directly or not.
func otlpModules() ([]string, error) {
	data, err := fs.ReadFile(ottoolexec.OTLPSource, otlpDir+"/go.mod.txt")
	if err != nil {
		return nil, fmt.Errorf("reading the OTLP exporter's go.mod: %w", err)
	}
	f, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil {
		return nil, fmt.Errorf("parsing the OTLP exporter's go.mod: %w", err)
	}
	var mods []string
	for _, r := range f.Require {
		mods = append(mods, r.Mod.Path)
	}
	return mods, nil
}

// embeddedFiles lists every file of the written-out runtime: its path in
// the embedded source and in the written-out tree. go.mod and go.sum of
// the runtime module are generated, not listed.
func embeddedFiles() ([]embeddedFile, error) {
	var files []embeddedFile
	err := fs.WalkDir(ottoolexec.Source, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == "go.mod" || path == "go.sum" {
			return err
		}
		files = append(files, embeddedFile{ottoolexec.Source, path, path})
		return nil
	})
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(ottoolexec.OTLPSource, otlpDir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() {
			files = append(files, embeddedFile{ottoolexec.OTLPSource, otlpDir + "/" + e.Name(), otlpOut + "/" + otlpName(e.Name())})
		}
	}
	return files, nil
}

// embeddedFile is one file of the runtime source.
type embeddedFile struct {
	fsys      fs.FS
	path, out string // in fsys, and written out (slash-separated)
}

// RuntimeGoMod returns the go.mod and go.sum of the runtime module as it is
// written out: ottoolexec's own requirements, limited to RuntimeModules.
func RuntimeGoMod() (gomod, gosum []byte, err error) {
	data, err := fs.ReadFile(ottoolexec.Source, "go.mod")
	if err != nil {
		return nil, nil, err
	}
	own, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing ottoolexec's own go.mod: %w", err)
	}
	want := make(map[string]bool)
	for _, m := range RuntimeModules {
		want[m] = true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "// The runtime that ottoolexec links into traced binaries.\nmodule %s\n\ngo %s\n\nrequire (\n", ModulePath, runtimeGoVersion)
	found := 0
	for _, r := range own.Require {
		if want[r.Mod.Path] {
			fmt.Fprintf(&b, "\t%s %s\n", r.Mod.Path, r.Mod.Version)
			found++
		}
	}
	b.WriteString(")\n")
	if found != len(RuntimeModules) {
		return nil, nil, fmt.Errorf("ottoolexec's go.mod requires %d of the %d runtime modules", found, len(RuntimeModules))
	}
	// The whole of ottoolexec's go.sum: besides the runtime modules' own
	// lines, loading their module graph needs the go.mod hashes of what
	// they require in turn (opentracing-go's go.mod names testify), and
	// extra lines do no harm.
	sum, err := fs.ReadFile(ottoolexec.Source, "go.sum")
	if err != nil {
		return nil, nil, err
	}
	return []byte(b.String()), sum, nil
}

// WriteSource writes the embedded runtime out as a module under
// cacheDir/runtime/<hash of the source> and returns its directory. The
// directory name changes whenever the source does, so an existing one is
// complete and is reused: stable paths keep the build cache warm.
func WriteSource(cacheDir string) (string, error) {
	hash, err := sourceHash()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheDir, "runtime", hash)
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		return dir, nil
	}
	gomod, gosum, err := RuntimeGoMod()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o777); err != nil {
		return "", fmt.Errorf("writing the runtime source: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), hash+".tmp-")
	if err != nil {
		return "", fmt.Errorf("writing the runtime source: %w", err)
	}
	defer os.RemoveAll(tmp)
	files, err := embeddedFiles()
	for _, f := range files {
		if err != nil {
			break
		}
		out := filepath.Join(tmp, filepath.FromSlash(f.out))
		if err = os.MkdirAll(filepath.Dir(out), 0o777); err != nil {
			break
		}
		var data []byte
		if data, err = fs.ReadFile(f.fsys, f.path); err == nil {
			err = os.WriteFile(out, data, 0o444)
		}
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, "go.mod"), gomod, 0o444)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, "go.sum"), gosum, 0o444)
	}
	if err != nil {
		return "", fmt.Errorf("writing the runtime source: %w", err)
	}
	// Another build may have won the race; its copy is identical.
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "go.mod")); statErr != nil {
			return "", fmt.Errorf("writing the runtime source: %w", err)
		}
	}
	return dir, nil
}

// RepairSource makes sure the runtime source written under cacheDir is
// byte for byte the embedded one, writing it again if a file was changed
// or lost (a damaged cache must not compile into a wrong binary). It reads
// every file, so it runs only before a nested build, not on every tool
// invocation.
func RepairSource(cacheDir string) error {
	dir, err := WriteSource(cacheDir)
	if err != nil {
		return err
	}
	files, err := embeddedFiles()
	if err != nil {
		return err
	}
	var damaged error
	for _, f := range files {
		want, err := fs.ReadFile(f.fsys, f.path)
		if err != nil {
			return err
		}
		out := filepath.Join(dir, filepath.FromSlash(f.out))
		if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, want) {
			damaged = fmt.Errorf("%s differs from the runtime built into ottoolexec", out)
			break
		}
	}
	if damaged == nil {
		return nil
	}
	fmt.Fprintf(os.Stderr, "ottoolexec: %v; writing the runtime source again\n", damaged)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing the damaged runtime source: %w", err)
	}
	_, err = WriteSource(cacheDir)
	return err
}

// runtimeTreeHash hashes the runtime and hooks trees of a copy of
// ottoolexec's module, skipping what go:embed skips, so the embedded copy
// and a module cache copy of the same version hash alike.
func runtimeTreeHash(fsys fs.FS) (string, error) {
	h := sha256.New()
	for _, root := range []string{"runtime", "hooks"} {
		err := fs.WalkDir(fsys, root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			return hashFile(h, fsys, path)
		})
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashFile adds the file at path in fsys to h: its name, size and content.
func hashFile(h io.Writer, fsys fs.FS, path string) error {
	data, err := fs.ReadFile(fsys, path)
	if err != nil {
		return err
	}
	fmt.Fprintf(h, "%s %d\n", path, len(data))
	_, err = h.Write(data)
	return err
}

// embeddedRuntimeHash is runtimeTreeHash of the runtime this binary carries.
var embeddedRuntimeHash = sync.OnceValues(func() (string, error) {
	return runtimeTreeHash(ottoolexec.Source)
})
