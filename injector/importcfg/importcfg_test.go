package importcfg

import "testing"

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
