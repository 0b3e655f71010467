// Package importcfg reads and extends the import configuration files that
// the go command hands to the compiler and the linker (-importcfg).
//
// The format is line based: "packagefile path=archive", "importmap
// old=new", "packageshlib path=file", "modinfo ..." and "#" comments.
// A File keeps every line it does not understand, so writing it back
// changes nothing but what was added.
package importcfg

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// File is a parsed import configuration.
type File struct {
	lines        []string
	PackageFiles map[string]string // import path -> archive
}

// Read parses the import configuration at path.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading import config: %w", err)
	}
	f, err := Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse parses import configuration text.
func Parse(text string) (*File, error) {
	f := &File{PackageFiles: make(map[string]string)}
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		f.lines = append(f.lines, line)
		verb, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		if verb != "packagefile" {
			continue
		}
		path, archive, ok := strings.Cut(rest, "=")
		if !ok || path == "" || archive == "" {
			return nil, fmt.Errorf("line %d: malformed packagefile line %q", i+1, line)
		}
		f.PackageFiles[path] = archive
	}
	return f, nil
}

// AddPackageFile records archive as the compiled form of path, unless the
// configuration already names one: the build's own archive always wins.
// It reports whether a line was added.
func (f *File) AddPackageFile(path, archive string) bool {
	if _, ok := f.PackageFiles[path]; ok {
		return false
	}
	f.PackageFiles[path] = archive
	f.lines = append(f.lines, "packagefile "+path+"="+archive)
	return true
}

// ModInfo returns the module information of a link's configuration (the
// text of its "modinfo" line, unquoted), and false when it has none.
func (f *File) ModInfo() (string, bool, error) {
	for i, line := range f.lines {
		if rest, ok := strings.CutPrefix(line, "modinfo "); ok {
			info, err := strconv.Unquote(rest)
			if err != nil {
				return "", false, fmt.Errorf("line %d: malformed modinfo line: %w", i+1, err)
			}
			return info, true, nil
		}
	}
	return "", false, nil
}

// SetModInfo replaces the text of the "modinfo" line; a configuration
// without one is left as it is.
func (f *File) SetModInfo(info string) {
	for i, line := range f.lines {
		if strings.HasPrefix(line, "modinfo ") {
			f.lines[i] = "modinfo " + strconv.Quote(info)
			return
		}
	}
}

// Bytes returns the configuration text.
func (f *File) Bytes() []byte {
	return []byte(strings.Join(f.lines, "\n") + "\n")
}

// Write writes the configuration to path.
func (f *File) Write(path string) error {
	if err := os.WriteFile(path, f.Bytes(), 0o666); err != nil {
		return fmt.Errorf("writing import config: %w", err)
	}
	return nil
}
