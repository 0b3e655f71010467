package importcfg

import (
	"strconv"
	"strings"
	"testing"
)

func TestAddKeepsBuildArchives(t *testing.T) {
	const in = "# import config\npackagefile fmt=/w/b002/_pkg_.a\nimportmap old=new\nmodinfo \"x\"\n"
	f, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.PackageFiles["fmt"]; got != "/w/b002/_pkg_.a" {
		t.Fatalf("fmt = %q", got)
	}
	if f.AddPackageFile("fmt", "/cache/other.a") {
		t.Error("AddPackageFile replaced the build's own archive for fmt")
	}
	if !f.AddPackageFile("net/http", "/cache/http.a") {
		t.Error("AddPackageFile did not add net/http")
	}
	want := in + "packagefile net/http=/cache/http.a\n"
	if got := string(f.Bytes()); got != want {
		t.Errorf("Bytes() =\n%s\nwant\n%s", got, want)
	}
}

func TestMalformed(t *testing.T) {
	if _, err := Parse("packagefile fmt\n"); err == nil {
		t.Error("Parse accepted a packagefile line without '='")
	}
}

// The modinfo line of a link's configuration is a quoted string that may
// hold any byte (the go command's markers around the text are binary).
func TestModInfo(t *testing.T) {
	const text = "0w\xaf\f\x92t\b\x02A\xe1path\texample.com/m\n\xf92C1"
	in := "packagefile fmt=/w/fmt.a\nmodinfo " + strconv.Quote(text) + "\npackagefile os=/w/os.a\n"
	f, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := f.ModInfo()
	if err != nil || !ok || got != text {
		t.Fatalf("ModInfo() = %q, %v, %v; want %q", got, ok, err, text)
	}
	f.SetModInfo(text + "dep\tx\tv1.0.0\t\n")
	want := "packagefile fmt=/w/fmt.a\nmodinfo " + strconv.Quote(text+"dep\tx\tv1.0.0\t\n") + "\npackagefile os=/w/os.a\n"
	if string(f.Bytes()) != want {
		t.Errorf("after SetModInfo:\n%q\nwant\n%q", f.Bytes(), want)
	}

	none, _ := Parse("packagefile fmt=/w/fmt.a\n")
	if _, ok, err := none.ModInfo(); ok || err != nil {
		t.Errorf("ModInfo of a config without modinfo: %v, %v", ok, err)
	}
	none.SetModInfo("x")
	if string(none.Bytes()) != "packagefile fmt=/w/fmt.a\n" {
		t.Errorf("SetModInfo added a line: %q", none.Bytes())
	}
	bad, _ := Parse("modinfo not-quoted\n")
	if _, _, err := bad.ModInfo(); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("malformed modinfo: %v", err)
	}
}
