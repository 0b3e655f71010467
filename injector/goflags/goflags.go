// Package goflags recovers the build flags of the go command that started
// a toolexec invocation.
//
// A nested go command that compiles packages for the parent build must use
// exactly the parent's build flags, or its archives will not match the
// parent's (the linker then rejects them with "fingerprint mismatch").
// Not every flag shows in the tool's own arguments (-tags, -trimpath,
// -mod, -cover with its packages), so they are read from the parent go
// command's command line.
package goflags

import (
	"fmt"
	"strings"
)

// Flags are the parent's build flags that matter to a nested build.
type Flags struct {
	Subcommand string   // "build", "test", ...
	Repeat     []string // flags to pass to the nested go command, as "-name=value"
	Mod        string   // value of -mod, if given
	Modfile    string   // value of -modfile, if given
	PGO        string   // value of -pgo, if given ("" is the default, auto)
	Packages   []string // the packages (or .go files) named after the flags
}

// flagKind says what the parser does with a flag it meets.
type flagKind int

const (
	skipBool  flagKind = iota // a boolean flag the nested build does not need
	skipValue                 // a flag with a value the nested build does not need
	keepBool                  // a boolean flag to repeat
	keepValue                 // a flag with a value to repeat
)

// buildFlags are the go command's build flags ("go help build") plus the
// test and run flags that take a value, so that the value is not mistaken
// for a package.
var buildFlags = map[string]flagKind{
	"a": skipBool, "n": skipBool, "v": skipBool, "x": skipBool, "work": skipBool,
	"race": keepBool, "msan": keepBool, "asan": keepBool, "cover": keepBool,
	"linkshared": keepBool, "trimpath": keepBool, "modcacherw": keepBool,
	"buildvcs": skipBool, "json": skipBool,

	"C": skipValue, "p": skipValue, "o": skipValue, "toolexec": skipValue,
	"ldflags": skipValue, "exec": skipValue, "modfile": skipValue,
	"covermode": keepValue, "coverpkg": keepValue, "asmflags": keepValue,
	"buildmode": keepValue, "compiler": keepValue, "gccgoflags": keepValue,
	"gcflags": keepValue, "installsuffix": keepValue, "mod": keepValue,
	"overlay": keepValue, "pgo": keepValue, "pkgdir": keepValue, "tags": keepValue,
}

// testValueFlags are go test flags that take a value.
var testValueFlags = map[string]bool{
	"bench": true, "benchtime": true, "blockprofile": true, "blockprofilerate": true,
	"count": true, "coverprofile": true, "cpu": true, "cpuprofile": true,
	"fuzz": true, "fuzzcachedir": true, "fuzzminimizetime": true, "fuzztime": true, "list": true,
	"memprofile": true, "memprofilerate": true, "mutexprofile": true,
	"mutexprofilefraction": true, "outputdir": true, "parallel": true, "run": true,
	"shuffle": true, "skip": true, "timeout": true, "trace": true, "vet": true,
}

// Parse reads the command line of a go command ("go", "build", flags...)
// and returns the build flags a nested build must repeat.
func Parse(args []string) (Flags, error) {
	var f Flags
	if len(args) < 2 {
		return f, fmt.Errorf("parent command %q is not a go build command", strings.Join(args, " "))
	}
	f.Subcommand = args[1]
	test := f.Subcommand == "test"
	for i := 2; i < len(args); i++ {
		arg := args[i]
		if arg == "--" || test && (arg == "-args" || arg == "--args") {
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			if test {
				f.Packages = append(f.Packages, arg)
				continue // packages; go test takes flags after them too
			}
			f.Packages = packageArgs(f.Subcommand, args[i:])
			break // packages, or the program and its arguments for go run
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if test {
			name = strings.TrimPrefix(name, "test.")
		}
		kind, known := buildFlags[name]
		if !known {
			// A test flag (its value skipped), or a flag the go command
			// itself rejects: neither changes the build.
			if test && testValueFlags[name] && !hasValue {
				i++
			}
			continue
		}
		if (kind == skipValue || kind == keepValue) && !hasValue {
			if i+1 >= len(args) {
				return f, fmt.Errorf("flag -%s needs a value", name)
			}
			i++
			value = args[i]
			hasValue = true
		}
		switch name {
		case "mod":
			f.Mod = value
		case "modfile":
			f.Modfile = value
		case "pgo":
			f.PGO = value
		}
		switch kind {
		case keepBool:
			if hasValue {
				f.Repeat = append(f.Repeat, "-"+name+"="+value)
			} else {
				f.Repeat = append(f.Repeat, "-"+name)
			}
		case keepValue:
			f.Repeat = append(f.Repeat, "-"+name+"="+value)
		}
	}
	return f.withoutImplicitCover(), nil
}

// packageArgs returns the packages in args, the rest of a go command line
// after its flags. go run takes one package (or .go files) and then the
// program's own arguments.
func packageArgs(subcommand string, args []string) []string {
	if subcommand != "run" {
		return append([]string(nil), args...)
	}
	var pkgs []string
	for _, a := range args {
		if !strings.HasSuffix(a, ".go") {
			if len(pkgs) == 0 {
				pkgs = append(pkgs, a)
			}
			break
		}
		pkgs = append(pkgs, a)
	}
	return pkgs
}

// withoutImplicitCover drops -cover and -covermode when no -coverpkg names
// the packages to cover. The parent then covers its own main module's
// packages (go build) or the packages under test (go test); a nested
// build must cover none of the packages it compiles, or the runtime's
// packages, which it names on its command line, would be covered and show
// up in the user's profiles.
func (f Flags) withoutImplicitCover() Flags {
	hasPkg := false
	for _, r := range f.Repeat {
		hasPkg = hasPkg || strings.HasPrefix(r, "-coverpkg=")
	}
	if hasPkg {
		return f
	}
	var kept []string
	for _, r := range f.Repeat {
		if r != "-cover" && !strings.HasPrefix(r, "-cover=") && !strings.HasPrefix(r, "-covermode=") {
			kept = append(kept, r)
		}
	}
	f.Repeat = kept
	return f
}
