// Package hooks defines the shape of ottoolexec's integration catalogue.
//
// A rule for a package outside the standard library (pgx, go-redis...)
// splices code that calls the rule's runtime half directly: Imports names
// it, and the injector adds the import to each file it changes. That code
// may use the target's own types; the runtime half only sees standard
// library types and opentracing, so ottoolexec's module never requires the
// target library (which would raise the user's version of it).
//
// Each integration lives in its own folder below hooks/ and is described by
// one Rule value: which package it targets, which functions get a prologue
// (and where allowed an epilogue), which files are added to the target's
// compilation, and which runtime packages a traced main must link so that
// the spliced code has something to call. A Rule is plain data; the
// injector is the engine that applies it. The list of rules in use is in
// hooks/catalog.
//
// Spliced code runs inside the target package. For standard library targets
// it may only use the target's own names plus the standard library packages
// the target already imports: the standard library cannot import the
// runtime (that would be an import cycle), so a rule adds a function
// variable to the target, pushes it with a one-argument //go:linkname, and
// the rule's runtime package fills it in at init with the two-argument form.
package hooks

// Rule describes one integration.
type Rule struct {
	// Name is what users see in `ottoolexec list` and write in
	// OTTOOLEXEC_DISABLE.
	Name string
	// Doc is a one-line description.
	Doc string
	// Package is the import path of the target package.
	Package string
	// Std reports whether Package belongs to the standard library.
	Std bool
	// Tested lists the versions the rule is tested with: Go releases for
	// standard library targets, module versions otherwise. Other versions
	// are instrumented when their source has the shape the rule expects,
	// and left alone with a note when not.
	Tested []string
	// Funcs are the functions of Package that get spliced code.
	Funcs []Func
	// Fields are added to struct types of Package.
	Fields []Field
	// Files are added to the compilation of Package.
	Files []File
	// Runtime lists the runtime packages that every traced main package
	// imports while this rule is enabled and fits the target: for
	// standard library rules, the package that fills in their function
	// variables at init. Rules for other targets leave it empty; the
	// library they splice imports their runtime half (Imports), so only
	// programs with that library compile and link it.
	Runtime []string
	// Imports are packages the spliced code of a non-standard target
	// calls, by the name the prologues use: each changed file gets
	// `import name "path"`. (The standard library cannot import them;
	// its rules use Files and //go:linkname instead.)
	Imports map[string]string
	// Core rules cannot be disabled: the runtime depends on them.
	Core bool
}

// Func is one function (or method) that receives spliced code. A Func
// with no code at all is only checked: it makes a target whose
// declaration differs count as a misfit, for code in the rule's Files that
// relies on that declaration's types.
type Func struct {
	// Recv is the receiver type as declared, without a name ("*Client",
	// "serverHandler"), or empty for a plain function.
	Recv string
	// Name is the function or method name.
	Name string
	// Signature is the parameter and result list as the target declares
	// it, names included, in gofmt form, e.g.
	// "(ireq *Request, rt RoundTripper, deadline time.Time) (resp *Response, didTimeout func() bool, err error)".
	// Where the target splits the lists over lines, the signature is
	// compared as it reads on one line. A target whose declaration
	// differs is left untouched, with a note.
	Signature string
	// Prologue is Go source inserted right after the opening brace of the
	// body. It may refer to the function's parameters and named results.
	Prologue string
	// Epilogue, if set, is inserted right before the closing brace. It is
	// only allowed in functions without results and without return
	// statements, where it runs exactly when the body completes normally.
	Epilogue string
	// BeforeReturn, if set, is inserted in front of every return statement
	// of the body (not of nested function literals), on the same line.
	BeforeReturn string
	// Results, if set, names the function's unnamed results, one name per
	// result, so that a deferred function in the prologue can read (and
	// replace) what the function returns. The declaration changes only
	// inside its result list; a function whose results are already named
	// does not fit.
	Results []string
}

// Field is a field appended to a struct type, after its last field, so
// that the offsets of existing fields (which assembly code may use) stay
// the same.
type Field struct {
	Type string // name of the struct type
	Decl string // the field declaration: "name Type"
}

// File is a source file added to the target package's compilation.
type File struct {
	Name    string // base name; the injector prefixes it to avoid clashes
	Content string
}
