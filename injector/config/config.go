// Package config decides which integrations a build includes.
//
// The selection comes from the OTTOOLEXEC_INTEGRATIONS environment
// variable when it is set, else from an ottoolexec.yaml file at the main
// module's root, else it is every integration. Both spell the same list:
// items that name an integration (by its name, or by the import path of
// the package it targets), each optionally prefixed with "-" to remove it.
// A list that starts with an item to add enables only what it names; a
// list of removals only starts from every integration.
//
// The file format is a small, strict subset of YAML, parsed here rather
// than by a YAML library so that it needs no dependency and so that
// anything outside the one accepted shape is reported with its line
// instead of being read as something else.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	// EnvVar holds the comma-separated selection; when set, the file is
	// not read.
	EnvVar = "OTTOOLEXEC_INTEGRATIONS"
	// FileName is the selection file at the main module's root.
	FileName = "ottoolexec.yaml"
	// DefaultSource is the source Select reports when neither is present.
	DefaultSource = "default: all"
)

// Integration is what Select needs to know of one integration.
type Integration struct {
	Name    string // what users write, e.g. "nethttp"
	Package string // import path of the target package, e.g. "net/http"
	Core    bool   // always on: the runtime depends on it
}

// item is one entry of a selection list.
type item struct {
	name   string // an integration name or a package path, without the "-"
	remove bool   // written with a leading "-"
	where  string // "OTTOOLEXEC_INTEGRATIONS" or "path/ottoolexec.yaml:LINE", for errors
}

// Select returns the names of the enabled integrations, in the order of
// all, and where the selection came from: EnvVar, the path of the file,
// or DefaultSource.
//
// env is the value of OTTOOLEXEC_INTEGRATIONS; empty (or only spaces and
// commas) counts as unset, since an empty list would select everything
// anyway. moduleRoot is the main module's directory, or "" to look for
// no file.
func Select(all []Integration, env string, moduleRoot string) (enabled []string, source string, err error) {
	var items []item
	switch {
	case strings.Trim(env, " \t,") != "":
		source = EnvVar
		if items, err = parseEnv(env); err != nil {
			return nil, "", err
		}
	case moduleRoot != "":
		path := filepath.Join(moduleRoot, FileName)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			source = DefaultSource
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("reading the integration selection: %w", err)
		}
		source = path
		if items, err = parseFile(path, data); err != nil {
			return nil, "", err
		}
	default:
		source = DefaultSource
	}

	on, err := apply(all, items)
	if err != nil {
		return nil, "", err
	}
	for i, in := range all {
		if on[i] {
			enabled = append(enabled, in.Name)
		}
	}
	return enabled, source, nil
}

// apply returns, for each of all, whether items leave it enabled.
func apply(all []Integration, items []item) ([]bool, error) {
	// An empty list, or one that starts by removing, starts from all.
	fromAll := len(items) == 0 || items[0].remove
	on := make([]bool, len(all))
	for i := range on {
		on[i] = fromAll
	}
	for _, it := range items {
		if fromAll && !it.remove {
			// Adding to everything would do nothing: most likely the list
			// was meant to start with the integrations to enable.
			return nil, fmt.Errorf("%s: %q enables an integration in a list that starts with a removal (%q); "+
				"either start with the integrations to enable (only those are on) or only remove",
				it.where, it.name, "-"+items[0].name)
		}
		found := false
		for i, in := range all {
			if it.name != in.Name && it.name != in.Package {
				continue
			}
			found = true
			if it.remove && in.Core {
				return nil, fmt.Errorf("%s: integration %q cannot be removed: the runtime needs it", it.where, in.Name)
			}
			on[i] = !it.remove
		}
		if !found {
			return nil, fmt.Errorf("%s: unknown integration %q (known: %s)", it.where, it.name, knownNames(all))
		}
	}
	for i, in := range all {
		if in.Core {
			on[i] = true
		}
	}
	return on, nil
}

// knownNames lists the integrations for an error message, each with the
// package it targets, since either may be written.
func knownNames(all []Integration) string {
	names := make([]string, len(all))
	for i, in := range all {
		names[i] = fmt.Sprintf("%s (%s)", in.Name, in.Package)
	}
	return strings.Join(names, ", ")
}

// parseEnv splits the value of EnvVar into items. Spaces around items and
// empty items (a trailing comma) are ignored.
func parseEnv(env string) ([]item, error) {
	var items []item
	for _, text := range strings.Split(env, ",") {
		if text = strings.TrimSpace(text); text == "" {
			continue
		}
		it, err := parseItem(text, EnvVar)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// parseItem reads one list entry: an optional "-", then a name or import
// path, the whole optionally in YAML quotes.
func parseItem(text, where string) (item, error) {
	unquoted := text
	if len(text) >= 2 && (text[0] == '"' || text[0] == '\'') && text[len(text)-1] == text[0] {
		unquoted = text[1 : len(text)-1]
	}
	it := item{name: unquoted, where: where}
	if rest, ok := strings.CutPrefix(unquoted, "-"); ok {
		it.name, it.remove = rest, true
	}
	if it.name == "" || strings.ContainsFunc(it.name, func(r rune) bool { return !pathChar(r) }) {
		return item{}, fmt.Errorf("%s: %q: expected an integration name or import path, optionally after \"-\"", where, text)
	}
	return it, nil
}

// pathChar reports whether r may appear in an integration name or an
// import path.
func pathChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-._~+/", r)
}

// The one shape parseFile accepts, quoted in its errors.
const (
	blockForm  = "\"integrations:\" followed by \"- NAME\" lines"
	inlineForm = "\"integrations: [NAME, -NAME]\""
)

// parseFile reads an ottoolexec.yaml: blank and comment lines, and one
// "integrations" key whose value is a list, either inline or as one
// "- item" per line below it. path names the file in errors.
func parseFile(path string, data []byte) ([]item, error) {
	var (
		items      []item
		keyLine    int  // line of "integrations:", 0 before it
		inline     bool // the list was on the key's line
		itemIndent = -1 // indentation of the block items, -1 before the first
		lines      = strings.Split(string(data), "\n")
		errorAt    = func(line int, format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", path, line, fmt.Sprintf(format, args...))
		}
	)
	for i, line := range lines {
		n := i + 1
		line = stripComment(strings.TrimSuffix(line, "\r"))
		body := strings.TrimLeft(line, " \t")
		if strings.TrimSpace(body) == "" {
			continue
		}
		indentation := line[:len(line)-len(body)]
		if strings.Contains(indentation, "\t") {
			return nil, errorAt(n, "tab in indentation: YAML indents with spaces")
		}
		body = strings.TrimRight(body, " \t")
		indent := len(indentation)

		switch {
		case keyLine == 0:
			key, value, ok := strings.Cut(body, ":")
			if indent != 0 || !ok || key != "integrations" {
				return nil, errorAt(n, "%q: expected %s or %s", body, blockForm, inlineForm)
			}
			keyLine = n
			if value = strings.TrimSpace(value); value == "" {
				continue // the items follow
			}
			if !strings.HasPrefix(value, "[") || !strings.HasSuffix(value, "]") {
				return nil, errorAt(n, "%q: expected a list: %s or %s", value, inlineForm, blockForm)
			}
			list := value[1 : len(value)-1]
			inline = true
			if strings.TrimSpace(list) == "" {
				continue // "[]": an empty list
			}
			for _, text := range strings.Split(list, ",") {
				it, err := parseItem(strings.TrimSpace(text), fmt.Sprintf("%s:%d", path, n))
				if err != nil {
					return nil, err
				}
				items = append(items, it)
			}
		case inline:
			return nil, errorAt(n, "%q: expected nothing after the list on line %d", body, keyLine)
		default:
			text, ok := strings.CutPrefix(body, "- ")
			if !ok {
				return nil, errorAt(n, "%q: expected a list item \"- NAME\" under \"integrations:\" (line %d)", body, keyLine)
			}
			if itemIndent == -1 {
				itemIndent = indent
			} else if indent != itemIndent {
				return nil, errorAt(n, "item indented by %d spaces, the ones above by %d: expected the same", indent, itemIndent)
			}
			it, err := parseItem(strings.TrimSpace(text), fmt.Sprintf("%s:%d", path, n))
			if err != nil {
				return nil, err
			}
			items = append(items, it)
		}
	}
	switch {
	case keyLine == 0:
		return nil, errorAt(max(1, len(lines)), "end of file: expected %s or %s", blockForm, inlineForm)
	case !inline && len(items) == 0:
		return nil, errorAt(keyLine, "\"integrations:\" has no items: expected \"- NAME\" lines below it (or \"integrations: []\" for all)")
	}
	return items, nil
}

// stripComment removes a YAML comment: from a "#" that starts the line or
// follows a space or tab.
func stripComment(line string) string {
	for i := 0; i < len(line); i++ {
		if line[i] == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			return line[:i]
		}
	}
	return line
}

// ExportersVar selects the optional exporters a traced program links, by
// name, comma-separated. They are off by default: each brings modules of
// its own into the build (OTLP: the OpenTelemetry SDK and gRPC), which
// only programs that use it should carry.
const ExportersVar = "OTTOOLEXEC_EXPORTERS"

// Exporters are the optional exporters there are.
var Exporters = []string{"otlp"}

// SelectExporters reads the value of ExportersVar: the exporters it names,
// in the order of Exporters, each once.
func SelectExporters(env string) ([]string, error) {
	on := make(map[string]bool)
	for _, name := range strings.Split(env, ",") {
		if name = strings.ToLower(strings.TrimSpace(name)); name == "" {
			continue
		}
		known := false
		for _, e := range Exporters {
			known = known || e == name
		}
		if !known {
			return nil, fmt.Errorf("%s: unknown exporter %q (known: %s)", ExportersVar, name, strings.Join(Exporters, ", "))
		}
		on[name] = true
	}
	var selected []string
	for _, e := range Exporters {
		if on[e] {
			selected = append(selected, e)
		}
	}
	return selected, nil
}
