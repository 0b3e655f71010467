package hooks_test

import (
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ottoolexec/ottoolexec/hooks/catalog"
)

// TestHookTypesMatch checks both ends of every //go:linkname between a
// file a rule adds to a standard library package and the rule's runtime
// half. The linker does not compare their types, so a mismatch would
// corrupt memory at run time instead of failing the build.
func TestHookTypesMatch(t *testing.T) {
	pushed := 0
	for _, r := range catalog.Rules {
		if !r.Std {
			continue
		}
		pkgName := r.Package[strings.LastIndex(r.Package, "/")+1:]
		pushes := make(map[string]string) // symbol -> type, qualified as seen from outside
		for _, f := range r.Files {
			for name, typ := range linknamedVars(t, r.Name+"/"+f.Name, f.Content, pkgName) {
				pushes[r.Package+"."+name] = typ
			}
		}
		pulls := make(map[string]string)
		for _, rt := range r.Runtime {
			dir := filepath.Join("..", strings.TrimPrefix(rt, "github.com/ottoolexec/ottoolexec/"))
			files, err := filepath.Glob(filepath.Join(dir, "*.go"))
			if err != nil {
				t.Fatal(err)
			}
			for _, file := range files {
				if strings.HasSuffix(file, "_test.go") {
					continue
				}
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				for sym, typ := range linknamedVars(t, file, string(data), "") {
					pulls[sym] = typ
				}
			}
		}
		for sym, want := range pushes {
			pushed++
			got, ok := pulls[sym]
			if !ok {
				t.Errorf("rule %s: %s is pushed but no runtime package of the rule pulls it", r.Name, sym)
				continue
			}
			if got != want {
				t.Errorf("rule %s: %s is\n\t%s in %s but\n\t%s in its runtime half", r.Name, sym, want, r.Package, got)
			}
		}
	}
	if pushed == 0 {
		t.Fatal("found no linkname pushes at all; the test is not looking where the rules are")
	}
}

// linknamedVars returns the variables of src carrying a //go:linkname
// directive, by symbol, with their types. For pushes (one-argument form)
// the symbol is the variable's own name and type names declared in the
// package are qualified with qualify, so both ends compare as text.
func linknamedVars(t *testing.T, name, src, qualify string) map[string]string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		t.Fatalf("parsing %s: %v", name, err)
	}
	out := make(map[string]string)
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.VAR || gen.Doc == nil {
			continue
		}
		for _, c := range gen.Doc.List {
			fields := strings.Fields(strings.TrimPrefix(c.Text, "//go:linkname "))
			if !strings.HasPrefix(c.Text, "//go:linkname ") || len(fields) == 0 {
				continue
			}
			spec := gen.Specs[0].(*ast.ValueSpec)
			typ := spec.Type
			sym := fields[0]
			if len(fields) == 2 {
				sym = fields[1]
			} else if qualify != "" {
				typ = qualified(typ, qualify)
			}
			var b strings.Builder
			printer.Fprint(&b, fset, typ)
			out[sym] = b.String()
		}
	}
	return out
}

// qualified rewrites exported identifiers that name the package's own
// types (Request) as seen from another package (http.Request).
func qualified(typ ast.Expr, pkg string) ast.Expr {
	var rewrite func(ast.Node) bool
	rewrite = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			return false // already qualified: os.Signal
		case *ast.Field:
			// Parameter names are not types.
			if n.Type != nil {
				ast.Inspect(n.Type, rewrite)
			}
			return false
		case *ast.Ident:
			if ast.IsExported(n.Name) {
				n.Name = pkg + "." + n.Name
			}
		}
		return true
	}
	ast.Inspect(typ, rewrite)
	return typ
}
