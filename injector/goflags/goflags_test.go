package goflags

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		cmd    []string
		repeat []string
		mod    string
	}{
		{[]string{"go", "build", "-toolexec=ottoolexec", "-o", "out", "."}, nil, ""},
		{[]string{"go", "build", "-race", "-tags", "a,b", "-trimpath", "-mod=mod", "./cmd/x"}, []string{"-race", "-tags=a,b", "-trimpath", "-mod=mod"}, "mod"},
		{[]string{"go", "run", "-cover", "./cmd/x", "-race", "-tags", "x"}, nil, ""},
		{[]string{"go", "test", "-cover", "-covermode=atomic", "-race", "."}, []string{"-race"}, ""},
		{[]string{"go", "test", "-run", "TestX", "./...", "-count=1", "-race", "-v", "-args", "-tags=no"}, []string{"-race"}, ""},
		{[]string{"go", "test", "-test.run", "-race", "."}, nil, ""},
		{[]string{"go", "install", "--gcflags=all=-N -l", "-buildmode", "pie", "x@v1"}, []string{"-gcflags=all=-N -l", "-buildmode=pie"}, ""},
		{[]string{"go", "build", "-coverpkg", "./...", "-covermode=atomic", "-cover=true", "."}, []string{"-coverpkg=./...", "-covermode=atomic", "-cover=true"}, ""},
	} {
		f, err := Parse(tc.cmd)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.cmd, err)
			continue
		}
		if !reflect.DeepEqual(f.Repeat, tc.repeat) || f.Mod != tc.mod {
			t.Errorf("Parse(%q) = %q mod %q, want %q mod %q", tc.cmd, f.Repeat, f.Mod, tc.repeat, tc.mod)
		}
	}
}

func TestParseMissingValue(t *testing.T) {
	if _, err := Parse([]string{"go", "build", "-tags"}); err == nil {
		t.Error("Parse accepted -tags without a value")
	}
}

// The packages a command builds, and its -pgo, are what the PGO support
// needs to find the main packages' profiles.
func TestParsePackagesAndPGO(t *testing.T) {
	for _, tc := range []struct {
		cmd  []string
		pkgs []string
		pgo  string
	}{
		{[]string{"go", "build", "-o", "out", "./cmd/a", "./cmd/b"}, []string{"./cmd/a", "./cmd/b"}, ""},
		{[]string{"go", "build", "-pgo=auto"}, nil, "auto"},
		{[]string{"go", "install", "-pgo", "prof.pgo", "x@v1"}, []string{"x@v1"}, "prof.pgo"},
		{[]string{"go", "run", "-pgo=off", "./cmd/x", "arg", "./y"}, []string{"./cmd/x"}, "off"},
		{[]string{"go", "run", "a.go", "b.go", "arg"}, []string{"a.go", "b.go"}, ""},
		{[]string{"go", "test", "-run", "X", "./p", "-v", "./q"}, []string{"./p", "./q"}, ""},
	} {
		f, err := Parse(tc.cmd)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.cmd, err)
			continue
		}
		if !reflect.DeepEqual(f.Packages, tc.pkgs) || f.PGO != tc.pgo {
			t.Errorf("Parse(%q): packages %q pgo %q, want %q %q", tc.cmd, f.Packages, f.PGO, tc.pkgs, tc.pgo)
		}
	}
}
