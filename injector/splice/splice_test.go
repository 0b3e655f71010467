package splice

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/ottoolexec/ottoolexec/hooks"
)

const target = `package p

import "fmt"

type T struct{}

func (t *T) Do(x int) (err error) { fmt.Println("first")
	fmt.Println("second")
	return nil
}

func serve(n int) {
	fmt.Println("serve", n)
}
`

var funcs = []hooks.Func{
	{Recv: "*T", Name: "Do", Signature: "(x int) (err error)", Prologue: "x++\nx--;"},
	{Name: "serve", Signature: "(n int)", Prologue: "var __done bool;", Epilogue: "__done = true;"},
}

func TestApplyKeepsPositions(t *testing.T) {
	out, err := Apply([]Source{{Path: "/src/p/p.go", Data: []byte(target)}}, funcs)
	if err != nil {
		t.Fatal(err)
	}
	got := string(out["/src/p/p.go"])
	for _, want := range []string{
		"//line /src/p/p.go:1:1\npackage p",
		"{x++\nx--;/*line /src/p/p.go:7:36*/ fmt.Println(\"first\")",
		"{var __done bool;/*line /src/p/p.go:12:20*/",
		"__done = true;/*line /src/p/p.go:14:1*/}",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// Every call keeps its original line and column.
	want := callPositions(t, "orig.go", target)
	have := callPositions(t, "spliced.go", got)
	for i := range want {
		if have[i] != want[i] {
			t.Errorf("call %d at %s after splicing, want %s", i, have[i], want[i])
		}
	}
}

func callPositions(t *testing.T, name, src string) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		t.Fatalf("%s does not parse: %v\n%s", name, err, src)
	}
	var pos []string
	ast.Inspect(f, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			p := fset.Position(c.Pos())
			pos = append(pos, strings.TrimPrefix(p.String(), "/src/p/"))
		}
		return true
	})
	if name == "orig.go" {
		for i := range pos {
			pos[i] = strings.Replace(pos[i], "orig.go", "p.go", 1)
		}
	}
	return pos
}

func TestMisfit(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   hooks.Func
		want string
	}{
		{"missing", hooks.Func{Name: "gone", Signature: "()"}, "gone is not declared"},
		{"signature", hooks.Func{Recv: "*T", Name: "Do", Signature: "(y int) (err error)"}, "(*T).Do is declared as (x int) (err error), want (y int) (err error)"},
		{"epilogue with results", hooks.Func{Recv: "*T", Name: "Do", Signature: "(x int) (err error)", Epilogue: ";"}, "has results"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Apply([]Source{{Path: "p.go", Data: []byte(target)}}, []hooks.Func{tc.fn})
			var misfit *MisfitError
			if !errors.As(err, &misfit) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Apply error = %v, want a MisfitError containing %q", err, tc.want)
			}
		})
	}
}

// A Func with no code is checked but leaves its file unchanged, so the
// file gets no import it would not use.
func TestCheckOnly(t *testing.T) {
	src := []Source{{Path: "p.go", Data: []byte(target)}}
	out, err := Apply(src, []hooks.Func{{Name: "serve", Signature: "(n int)"}})
	if err != nil || len(out) != 0 {
		t.Fatalf("Apply = %d changed files, %v; want none, nil", len(out), err)
	}
	_, err = Apply(src, []hooks.Func{{Name: "serve", Signature: "(m int)"}})
	var misfit *MisfitError
	if !errors.As(err, &misfit) {
		t.Fatalf("Apply with another signature: %v, want a MisfitError", err)
	}
}

// A declaration split over lines fits the same signature on one line,
// and the other way round; a misfit is reported on one line.
func TestSignatureOnLines(t *testing.T) {
	const src = `package p

func (s *Stack) Handle(ctx context.Context, input interface{}) (
	output interface{}, err error,
) {
	return nil, nil
}

func split(
	a int,
	b string,
) {
}
`
	for _, fn := range []hooks.Func{
		{Recv: "*Stack", Name: "Handle", Signature: "(ctx context.Context, input interface{}) (output interface{}, err error)", Prologue: ";"},
		{Recv: "*Stack", Name: "Handle", Signature: "(ctx context.Context, input interface{}) (\n\toutput interface{}, err error,\n)", Prologue: ";"},
		{Name: "split", Signature: "(a int, b string)", Prologue: ";"},
	} {
		if _, err := Apply([]Source{{Path: "p.go", Data: []byte(src)}}, []hooks.Func{fn}); err != nil {
			t.Errorf("%s with %q: %v", fn.Name, fn.Signature, err)
		}
	}
	_, err := Apply([]Source{{Path: "p.go", Data: []byte(src)}}, []hooks.Func{{Recv: "*Stack", Name: "Handle", Signature: "(ctx context.Context, input any) (output any, err error)"}})
	want := "(*Stack).Handle is declared as (ctx context.Context, input interface{}) (output interface{}, err error), want (ctx context.Context, input any) (output any, err error)"
	if err == nil || err.Error() != want {
		t.Errorf("misfit: %v\nwant %s", err, want)
	}
}

func TestFieldsAndReturns(t *testing.T) {
	const src = `package p

type g struct {
	id int
}

func newg(id int) *g {
	gp := &g{id: id}
	if id < 0 {
		return nil
	}
	f := func() int { return 1 }
	_ = f
	return gp
}
`
	out, err := Apply([]Source{{Path: "/src/p/g.go", Data: []byte(src)}},
		[]hooks.Func{{Name: "newg", Signature: "(id int) *g", BeforeReturn: "gp.extra = 1;"}},
		hooks.Field{Type: "g", Decl: "extra int"})
	if err != nil {
		t.Fatal(err)
	}
	got := string(out["/src/p/g.go"])
	for _, want := range []string{
		"\nextra int;/*line /src/p/g.go:5:1*/}",
		"func newg(id int) *g {\n",
		"\t\tgp.extra = 1;/*line /src/p/g.go:10:3*/return nil",
		"\tgp.extra = 1;/*line /src/p/g.go:14:2*/return gp",
		"f := func() int { return 1 }", // a function literal's return is not the function's
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "\n") != strings.Count(src, "\n")+1 {
		t.Errorf("splicing moved lines:\n%s", got)
	}
	_, err = Apply([]Source{{Path: "g.go", Data: []byte(src)}}, nil, hooks.Field{Type: "h", Decl: "x int"})
	if err == nil || !strings.Contains(err.Error(), "type h is not declared") {
		t.Errorf("missing type: err = %v", err)
	}
}

func TestAddImports(t *testing.T) {
	srcs := []Source{{Path: "/src/p/p.go", Data: []byte(target)}}
	changed, err := Apply(srcs, funcs)
	if err != nil {
		t.Fatal(err)
	}
	out, err := AddImports(srcs, changed, map[string]string{"__b": "example.com/b", "__a": "example.com/a"})
	if err != nil {
		t.Fatal(err)
	}
	got := string(out["/src/p/p.go"])
	want := "//line /src/p/p.go:1:1\npackage p; import __a \"example.com/a\"; import __b \"example.com/b\"/*line /src/p/p.go:1:10*/\n"
	if !strings.HasPrefix(got, want) {
		t.Errorf("output starts\n%q\nwant\n%q", got[:len(want)], want)
	}
	// The positions of the spliced file's statements are unchanged.
	have := callPositions(t, "spliced.go", got)
	if orig := callPositions(t, "orig.go", target); have[0] != orig[0] {
		t.Errorf("first call at %s, want %s", have[0], orig[0])
	}
}

func TestNameResults(t *testing.T) {
	const src = `package p

import "fmt"

func pair(x int) (int, error) { return fmt.Println(x) }

func one() error {
	return fmt.Errorf("one")
}
`
	out, err := Apply([]Source{{Path: "/src/p/r.go", Data: []byte(src)}}, []hooks.Func{
		{Name: "pair", Signature: "(x int) (int, error)", Results: []string{"__n", "__err"}, Prologue: "defer func() { __n++ }();"},
		{Name: "one", Signature: "() error", Results: []string{"__err"}, Prologue: "defer func() { __err = nil }();"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := string(out["/src/p/r.go"])
	for _, want := range []string{
		"func pair(x int) (__n /*line /src/p/r.go:5:19*/int, __err /*line /src/p/r.go:5:24*/error) {defer",
		"func one() (__err /*line /src/p/r.go:7:12*/error)/*line /src/p/r.go:7:17*/ {defer",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// The original calls keep their positions.
	fmtCalls := func(name, text string) []string {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, text, parser.ParseComments)
		if err != nil {
			t.Fatalf("%s does not parse: %v\n%s", name, err, text)
		}
		var pos []string
		ast.Inspect(f, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok {
				if sel, ok := c.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name != "" {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "fmt" {
						p := fset.Position(c.Pos())
						pos = append(pos, fmt.Sprintf("%d:%d", p.Line, p.Column))
					}
				}
			}
			return true
		})
		return pos
	}
	if want, have := fmtCalls("/src/p/r.go", src), fmtCalls("/src/p/r.go", got); strings.Join(have, " ") != strings.Join(want, " ") {
		t.Errorf("calls at %v after splicing, want %v", have, want)
	}

	// Named results, or a different count, do not fit.
	for _, fn := range []hooks.Func{
		{Name: "pair", Signature: "(x int) (int, error)", Results: []string{"__err"}},
		{Name: "named", Signature: "() (err error)", Results: []string{"__err"}},
	} {
		const named = "package p\n\nfunc named() (err error) { return nil }\n"
		_, err := Apply([]Source{{Path: "p.go", Data: []byte(src + named[len("package p\n"):])}}, []hooks.Func{fn})
		var misfit *MisfitError
		if !errors.As(err, &misfit) {
			t.Errorf("%s: err = %v, want a MisfitError", fn.Name, err)
		}
	}
}
