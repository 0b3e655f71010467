// Package directive wraps the functions a user marks with //ottrace:span
// in a span.
//
//	//ottrace:span name=checkout tag=team:payments require_active
//	func (s *Store) Checkout(ctx context.Context, cart Cart) (err error) {
//
// The body then runs inside a span that is a child of the current span
// (the context parameter's, else the goroutine's), named pkg.Func,
// pkg.(*T).Method or as name= says, with each tag=key:value set. With
// require_active the span is only made when there is a parent. A context
// parameter carries the new span during the body; a returned non-nil
// error flags the span with error=true and logs the error. To see that
// error the results must have names, so unnamed results get generated
// ones, which changes nothing for callers or for the body.
package directive

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"

	"github.com/ottoolexec/ottoolexec/injector/edit"
	"github.com/ottoolexec/ottoolexec/injector/splice"
)

// Marker starts a directive comment.
const Marker = "//ottrace:span"

// RuntimePackage is the package the spliced code calls; the injector adds
// it to the compile's import config.
const RuntimePackage = "github.com/ottoolexec/ottoolexec/runtime/directive"

const importName = "__ottoolexec_directive"

// Has reports whether any of srcs may carry a directive: a byte scan, so
// that packages without one are not parsed.
func Has(srcs []splice.Source) bool {
	for _, src := range srcs {
		if bytes.Contains(src.Data, []byte(Marker)) {
			return true
		}
	}
	return false
}

// Error is a misused directive, at a position in the user's source.
type Error struct {
	Pos token.Position
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Pos, e.Msg) }

// options are what one directive asks for.
type options struct {
	name          string
	tags          []string // key, value, key, value...
	requireActive bool
}

// Apply wraps every function of srcs that carries a directive and returns
// the new text of the files it changed.
func Apply(srcs []splice.Source) (map[string][]byte, error) {
	out := make(map[string][]byte)
	for _, src := range srcs {
		if !bytes.Contains(src.Data, []byte(Marker)) {
			continue
		}
		changed, err := applyFile(src)
		if err != nil {
			return nil, err
		}
		if changed != nil {
			out[src.Path] = changed
		}
	}
	return out, nil
}

func applyFile(src splice.Source) ([]byte, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, src.Path, src.Data, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, &splice.SyntaxError{Path: src.Path, Err: err}
	}
	// Which function each directive comment belongs to.
	owner := make(map[*ast.Comment]*ast.FuncDecl)
	for _, decl := range file.Decls {
		if fn, ok := decl.(*ast.FuncDecl); ok && fn.Doc != nil {
			for _, c := range fn.Doc.List {
				owner[c] = fn
			}
		}
	}
	tf := fset.File(file.Pos())
	buf := splice.NewBuffer(src)
	wrapped := 0
	for _, group := range file.Comments {
		for _, c := range group.List {
			if c.Text != Marker && !strings.HasPrefix(c.Text, Marker+" ") {
				continue
			}
			pos := fset.Position(c.Pos())
			fn := owner[c]
			if fn == nil {
				return nil, &Error{pos, Marker + " must be in the doc comment of a function or method declaration"}
			}
			if fn.Body == nil {
				return nil, &Error{pos, Marker + " on " + fn.Name.Name + ", which has no body"}
			}
			opts, err := parseOptions(strings.TrimPrefix(c.Text, Marker))
			if err != nil {
				return nil, &Error{pos, err.Error()}
			}
			if opts.name == "" {
				opts.name = defaultName(file.Name.Name, fn)
			}
			wrap(buf, fset, tf, file, fn, opts)
			wrapped++
		}
	}
	if wrapped == 0 {
		return nil, nil
	}
	// The spliced code's import goes on the package clause's line.
	buf.Insert(tf.Offset(file.Name.End()), fmt.Sprintf("; import %s %q", importName, RuntimePackage)+splice.Restore(fset, file.Name.End()))
	return buf.Bytes()
}

func parseOptions(text string) (options, error) {
	var opts options
	for _, field := range strings.Fields(text) {
		key, value, hasValue := strings.Cut(field, "=")
		switch {
		case key == "require_active" && !hasValue:
			opts.requireActive = true
		case key == "name" && hasValue && value != "":
			opts.name = value
		case key == "tag" && hasValue:
			k, v, ok := strings.Cut(value, ":")
			if !ok || k == "" {
				return opts, fmt.Errorf("%s: tag=%s: want tag=key:value", Marker, value)
			}
			opts.tags = append(opts.tags, k, v)
		default:
			return opts, fmt.Errorf("%s: unknown option %q (known: name=NAME, tag=KEY:VALUE, require_active)", Marker, field)
		}
	}
	return opts, nil
}

// defaultName is pkg.Func, pkg.(*T).Method or pkg.T.Method.
func defaultName(pkg string, fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return pkg + "." + fn.Name.Name
	}
	typ := fn.Recv.List[0].Type
	star := false
	if s, ok := typ.(*ast.StarExpr); ok {
		star, typ = true, s.X
	}
	switch t := typ.(type) { // drop type parameters: (*List[T]).Push is (*List).Push
	case *ast.IndexExpr:
		typ = t.X
	case *ast.IndexListExpr:
		typ = t.X
	}
	name := "?"
	if id, ok := typ.(*ast.Ident); ok {
		name = id.Name
	}
	if star {
		return pkg + ".(*" + name + ")." + fn.Name.Name
	}
	return pkg + "." + name + "." + fn.Name.Name
}

// wrap queues the edits that wrap fn's body in a span.
func wrap(buf *edit.Buffer, fset *token.FileSet, tf *token.File, file *ast.File, fn *ast.FuncDecl, opts options) {
	ctxName := contextParam(file, fn)
	errName := errorResult(buf, fset, tf, fn)

	args := []string{"nil", strconv.Quote(opts.name), strconv.FormatBool(opts.requireActive)}
	if ctxName != "" {
		args[0] = ctxName
	}
	for _, t := range opts.tags {
		args = append(args, strconv.Quote(t))
	}
	call := importName + ".Start(" + strings.Join(args, ", ") + ")"
	var prologue string
	if ctxName != "" {
		prologue = "var __ottoolexec_end func(*error); " + ctxName + ", __ottoolexec_end = " + call + "; "
	} else {
		prologue = "_, __ottoolexec_end := " + call + "; "
	}
	if errName != "" {
		prologue += "defer __ottoolexec_end(&" + errName + ");"
	} else {
		prologue += "defer __ottoolexec_end(nil);"
	}
	open := fn.Body.Lbrace + 1
	buf.Insert(tf.Offset(open), prologue+splice.Restore(fset, open))
}

// contextParam returns the name of fn's first context.Context parameter,
// or "" if it has none with a usable name.
func contextParam(file *ast.File, fn *ast.FuncDecl) string {
	ctxPkg := ""
	for _, imp := range file.Imports {
		if imp.Path.Value == `"context"` {
			ctxPkg = "context"
			if imp.Name != nil {
				ctxPkg = imp.Name.Name
			}
		}
	}
	if ctxPkg == "" || ctxPkg == "_" || ctxPkg == "." {
		return ""
	}
	for _, field := range fn.Type.Params.List {
		sel, ok := field.Type.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Context" {
			continue
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != ctxPkg {
			continue
		}
		if len(field.Names) == 0 || field.Names[0].Name == "_" {
			return ""
		}
		return field.Names[0].Name
	}
	return ""
}

// errorResult returns the name of fn's result if its last result is an
// error, naming the results when they have no names.
func errorResult(buf *edit.Buffer, fset *token.FileSet, tf *token.File, fn *ast.FuncDecl) string {
	res := fn.Type.Results
	if res == nil || len(res.List) == 0 {
		return ""
	}
	last := res.List[len(res.List)-1]
	if id, ok := last.Type.(*ast.Ident); !ok || id.Name != "error" {
		return ""
	}
	if len(last.Names) > 0 {
		name := last.Names[len(last.Names)-1]
		if name.Name != "_" {
			return name.Name
		}
		// A blank name cannot be referred to, so it can be renamed.
		buf.Replace(tf.Offset(name.Pos()), tf.Offset(name.End()), "__ottoolexec_err"+splice.Restore(fset, name.End()))
		return "__ottoolexec_err"
	}
	// Unnamed results: name them all, in place.
	if res.Opening == token.NoPos {
		buf.Insert(tf.Offset(last.Type.Pos()), "(__ottoolexec_err "+splice.Restore(fset, last.Type.Pos()))
		buf.Insert(tf.Offset(last.Type.End()), ")"+splice.Restore(fset, last.Type.End()))
		return "__ottoolexec_err"
	}
	for i, field := range res.List {
		name := fmt.Sprintf("__ottoolexec_r%d ", i)
		if i == len(res.List)-1 {
			name = "__ottoolexec_err "
		}
		buf.Insert(tf.Offset(field.Type.Pos()), name+splice.Restore(fset, field.Type.Pos()))
	}
	return "__ottoolexec_err"
}
