// Package splice inserts a rule's prologues and epilogues into the
// functions of a package's source files.
//
// It works like cmd/cover: one parse finds the places, the text is edited
// in place through an edit buffer and never reprinted, and line directives
// keep every original statement at its original file:line:column, so stack
// traces, panics, coverage profiles and debuggers see the user's source.
package splice

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/tools/go/ast/inspector"

	"github.com/ottoolexec/ottoolexec/hooks"
	"github.com/ottoolexec/ottoolexec/injector/edit"
)

// Source is one file of the package being compiled.
type Source struct {
	Path string // as named on the compiler's command line
	Data []byte
}

// MisfitError reports that the target does not have the shape a rule
// expects (a function is missing or declared differently), typically
// because the target is a version the rule was not written for.
type MisfitError struct {
	Func   string // "(*Client).send"
	Reason string
}

func (e *MisfitError) Error() string {
	return fmt.Sprintf("%s %s", e.Func, e.Reason)
}

// SyntaxError reports a source file that does not parse.
type SyntaxError struct {
	Path string
	Err  error
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("parsing %s: %v", e.Path, e.Err) }

func (e *SyntaxError) Unwrap() error { return e.Err }

// FuncName returns the display name of f: "send", "(*Client).send".
func FuncName(f hooks.Func) string {
	if f.Recv == "" {
		return f.Name
	}
	return "(" + f.Recv + ")." + f.Name
}

// Apply splices funcs and fields into the package made of srcs and returns
// the new text of every file it changed, keyed by Source.Path. Every
// function and type must be found exactly as declared, or Apply returns a
// *MisfitError and no change at all: a half-instrumented package is worse
// than none.
func Apply(srcs []Source, funcs []hooks.Func, fields ...hooks.Field) (map[string][]byte, error) {
	type site struct {
		fn   hooks.Func
		decl *ast.FuncDecl
	}
	fset := token.NewFileSet()
	found := make(map[int]bool)      // index in funcs -> seen
	foundField := make(map[int]bool) // index in fields -> seen
	bufs := make(map[string]*edit.Buffer)
	var order []string

	for _, src := range srcs {
		if !mentionsAny(src.Data, funcs, found) && !mentionsType(src.Data, fields, foundField) {
			continue
		}
		file, err := parser.ParseFile(fset, src.Path, src.Data, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, &SyntaxError{src.Path, err}
		}
		var sites []site
		var structs []structSite
		var misfit error
		inspector.New([]*ast.File{file}).Preorder([]ast.Node{(*ast.FuncDecl)(nil), (*ast.TypeSpec)(nil)}, func(n ast.Node) {
			if spec, ok := n.(*ast.TypeSpec); ok {
				for i, f := range fields {
					if spec.Name.Name != f.Type {
						continue
					}
					st, ok := spec.Type.(*ast.StructType)
					if !ok {
						misfit = &MisfitError{"type " + f.Type, "is not a struct"}
						return
					}
					foundField[i] = true
					structs = append(structs, structSite{f, st})
				}
				return
			}
			decl := n.(*ast.FuncDecl)
			for i, fn := range funcs {
				if decl.Name.Name != fn.Name || recvType(fset, decl) != fn.Recv {
					continue
				}
				if found[i] {
					misfit = &MisfitError{FuncName(fn), "is declared twice"}
					return
				}
				found[i] = true
				if err := check(fset, decl, fn); err != nil {
					misfit = err
					return
				}
				// A function with nothing to insert is only checked: the
				// rule's added files rely on its declaration.
				if fn.Prologue != "" || fn.Epilogue != "" || fn.BeforeReturn != "" {
					sites = append(sites, site{fn, decl})
				}
			}
		})
		if misfit != nil {
			return nil, misfit
		}
		if len(sites) == 0 && len(structs) == 0 {
			continue
		}
		buf := NewBuffer(src)
		tf := fset.File(file.Pos())
		for _, s := range sites {
			body := s.decl.Body
			if s.fn.Prologue != "" {
				open := tf.Offset(body.Lbrace) + 1
				buf.Insert(open, s.fn.Prologue+restore(fset, body.Lbrace+1))
			}
			if s.fn.Epilogue != "" {
				close := tf.Offset(body.Rbrace)
				buf.Insert(close, s.fn.Epilogue+restore(fset, body.Rbrace))
			}
			if len(s.fn.Results) > 0 {
				nameResults(buf, fset, tf, s.decl.Type.Results, s.fn.Results)
			}
			if s.fn.BeforeReturn != "" {
				for _, ret := range returns(body) {
					buf.Insert(tf.Offset(ret.Pos()), s.fn.BeforeReturn+restore(fset, ret.Pos()))
				}
			}
		}
		for _, s := range structs {
			// On the closing brace's line, so no line moves.
			buf.Insert(tf.Offset(s.st.Fields.Closing), s.field.Decl+";"+restore(fset, s.st.Fields.Closing))
		}
		bufs[src.Path] = buf
		order = append(order, src.Path)
	}
	for i, fn := range funcs {
		if !found[i] {
			return nil, &MisfitError{FuncName(fn), "is not declared"}
		}
	}
	for i, f := range fields {
		if !foundField[i] {
			return nil, &MisfitError{"type " + f.Type, "is not declared"}
		}
	}
	out := make(map[string][]byte, len(order))
	for _, path := range order {
		data, err := bufs[path].Bytes()
		if err != nil {
			return nil, fmt.Errorf("splicing %s: %w", path, err)
		}
		out[path] = data
	}
	return out, nil
}

type structSite struct {
	field hooks.Field
	st    *ast.StructType
}

// NewBuffer returns an edit buffer for src whose output starts with a line
// directive naming the original file, so that positions before any line
// directive of the file's own are reported against it.
func NewBuffer(src Source) *edit.Buffer {
	buf := edit.NewBuffer(src.Data)
	header := "//line " + src.Path + ":1:1\n"
	if !bytes.HasPrefix(src.Data, []byte(header)) { // spliced before
		buf.Insert(0, header)
	}
	return buf
}

// mentionsType is mentionsAny for struct types.
func mentionsType(data []byte, fields []hooks.Field, found map[int]bool) bool {
	for i, f := range fields {
		if !found[i] && bytes.Contains(data, []byte("type "+f.Type+" struct")) {
			return true
		}
	}
	return false
}

// mentionsAny is a cheap filter that spares parsing files which cannot
// declare any of the functions still being looked for.
func mentionsAny(data []byte, funcs []hooks.Func, found map[int]bool) bool {
	for i, fn := range funcs {
		if !found[i] && bytes.Contains(data, []byte(" "+fn.Name+"(")) {
			return true
		}
	}
	return false
}

// Restore returns a /*line*/ directive that gives the text following it
// the position pos had in the original file (after the file's own line
// directives, as in cgo output). Insert it right after inserted text.
func Restore(fset *token.FileSet, pos token.Pos) string {
	return restore(fset, pos)
}

func restore(fset *token.FileSet, pos token.Pos) string {
	p := fset.Position(pos)
	return fmt.Sprintf("/*line %s:%d:%d*/", p.Filename, p.Line, p.Column)
}

func recvType(fset *token.FileSet, decl *ast.FuncDecl) string {
	if decl.Recv == nil || len(decl.Recv.List) == 0 {
		return ""
	}
	return render(fset, decl.Recv.List[0].Type)
}

func render(fset *token.FileSet, n ast.Node) string {
	var b strings.Builder
	if err := printer.Fprint(&b, fset, n); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return b.String()
}

// check verifies that decl is the function fn was written for.
func check(fset *token.FileSet, decl *ast.FuncDecl, fn hooks.Func) error {
	name := FuncName(fn)
	if decl.Body == nil {
		return &MisfitError{name, "has no body"}
	}
	if sig, want := oneLine(strings.TrimPrefix(render(fset, decl.Type), "func")), oneLine(fn.Signature); sig != want {
		return &MisfitError{name, fmt.Sprintf("is declared as %s, want %s", sig, want)}
	}
	if len(fn.Results) > 0 {
		results := decl.Type.Results
		if results == nil || len(results.List) != len(fn.Results) {
			return &MisfitError{name, fmt.Sprintf("does not have %d results to name", len(fn.Results))}
		}
		for _, f := range results.List {
			if len(f.Names) > 0 {
				return &MisfitError{name, "has named results"}
			}
		}
	}
	if fn.Epilogue != "" {
		if decl.Type.Results != nil {
			return &MisfitError{name, "has results, so an epilogue could be skipped"}
		}
		if hasReturn(decl.Body) {
			return &MisfitError{name, "returns early, so an epilogue could be skipped"}
		}
	}
	return nil
}

// Line breaks gofmt keeps in a parameter or result list.
var (
	openBreak  = regexp.MustCompile(`\(\s*\n\s*`)   // "(\n\t"
	closeBreak = regexp.MustCompile(`,?\s*\n\s*\)`) // ",\n)"
	innerBreak = regexp.MustCompile(`,[ \t]*\n\s*`) // ",\n\t"
)

// oneLine returns a signature as it reads on one line, so that a target
// that splits its declaration over lines, as gofmt allows, compares equal
// to the same declaration written on one line.
func oneLine(sig string) string {
	if !strings.Contains(sig, "\n") {
		return sig
	}
	sig = openBreak.ReplaceAllString(sig, "(")
	sig = closeBreak.ReplaceAllString(sig, ")")
	return innerBreak.ReplaceAllString(sig, ", ")
}

// nameResults gives the unnamed results of a function the names in
// names: "(int, error)" becomes "(n int, err error)", a lone "error"
// becomes "(err error)". Line directives after each insertion keep every
// original token at its column.
func nameResults(buf *edit.Buffer, fset *token.FileSet, tf *token.File, results *ast.FieldList, names []string) {
	parens := results.Opening.IsValid()
	for i, f := range results.List {
		text := names[i] + " "
		if !parens {
			text = "(" + text
		}
		buf.Insert(tf.Offset(f.Type.Pos()), text+restore(fset, f.Type.Pos()))
		if !parens {
			buf.Insert(tf.Offset(f.Type.End()), ")"+restore(fset, f.Type.End()))
		}
	}
}

// hasReturn reports whether body has a return statement outside nested
// function literals.
func hasReturn(body *ast.BlockStmt) bool {
	return len(returns(body)) > 0
}

// returns lists the return statements of body outside nested function
// literals.
func returns(body *ast.BlockStmt) []*ast.ReturnStmt {
	var rets []*ast.ReturnStmt
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			rets = append(rets, n)
		}
		return true
	})
	return rets
}

// AddImports adds `import name "path"` for each of imports to every file
// in changed (the output of Apply for srcs), on its package clause's line
// so that no line moves, and returns the new texts.
func AddImports(srcs []Source, changed map[string][]byte, imports map[string]string) (map[string][]byte, error) {
	names := make([]string, 0, len(imports))
	for name := range imports {
		names = append(names, name)
	}
	sort.Strings(names)
	var decl strings.Builder
	for _, name := range names {
		fmt.Fprintf(&decl, "; import %s %q", name, imports[name])
	}
	out := make(map[string][]byte, len(changed))
	for _, src := range srcs {
		data, ok := changed[src.Path]
		if !ok {
			continue
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, src.Path, data, parser.PackageClauseOnly)
		if err != nil {
			return nil, &SyntaxError{src.Path, err}
		}
		buf := edit.NewBuffer(data)
		end := file.Name.End()
		buf.Insert(fset.File(end).Offset(end), decl.String()+restore(fset, end))
		if out[src.Path], err = buf.Bytes(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
