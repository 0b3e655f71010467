package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

// modinfo wraps text as the go command does.
func modinfo(text string) string { return infoStart + text + infoEnd }

// userInfo is the shape of what the go command writes: no go line.
const userInfo = "path\texample.com/app\n" +
	"mod\texample.com/app\t(devel)\t\n" +
	"dep\tgithub.com/a/lib\tv1.0.0\th1:aaa=\n" +
	"dep\tgithub.com/z/lib\tv2.0.0\th1:zzz=\n" +
	"build\t-buildmode=exe\n" +
	"build\tGOOS=linux\n"

func TestAddDeps(t *testing.T) {
	got, ok := AddDeps(modinfo(userInfo), []debug.Module{
		{Path: "github.com/opentracing/opentracing-go", Version: "v1.2.0", Sum: "h1:ot="},
		{Path: "github.com/a/lib", Version: "v9.9.9", Sum: "h1:other="}, // the user's own wins
		{Path: "github.com/ottoolexec/ottoolexec", Version: "(devel)"},
	})
	if !ok {
		t.Fatal("AddDeps did not recognise the go command's format")
	}
	want := "path\texample.com/app\n" +
		"mod\texample.com/app\t(devel)\t\n" +
		"dep\tgithub.com/a/lib\tv1.0.0\th1:aaa=\n" +
		"dep\tgithub.com/opentracing/opentracing-go\tv1.2.0\th1:ot=\n" +
		"dep\tgithub.com/ottoolexec/ottoolexec\t(devel)\t\n" +
		"dep\tgithub.com/z/lib\tv2.0.0\th1:zzz=\n" +
		"build\t-buildmode=exe\n" +
		"build\tGOOS=linux\n"
	if got != modinfo(want) {
		t.Errorf("AddDeps =\n%q\nwant\n%q", got, modinfo(want))
	}
	// What the runtime reads back from such a binary.
	bi, err := debug.ParseBuildInfo(strings.TrimSuffix(strings.TrimPrefix(got, infoStart), infoEnd))
	if err != nil || len(bi.Deps) != 4 || bi.Deps[1].Sum != "h1:ot=" {
		t.Errorf("ParseBuildInfo: %v, %+v", err, bi)
	}
}

func TestAddDepsLeavesUnknownFormats(t *testing.T) {
	for _, in := range []string{
		"",
		userInfo,                           // no markers
		modinfo("not build info at all\n"), // does not parse
		infoStart + userInfo,               // no end marker
	} {
		got, ok := AddDeps(in, []debug.Module{{Path: "x.org/y", Version: "v1.0.0"}})
		if ok || got != in {
			t.Errorf("AddDeps(%q) = %q, %v; want it unchanged, false", in, got, ok)
		}
	}
	// A go line, should one be there, is kept.
	if got, ok := AddDeps(modinfo("go\tgo1.26.8\n"+userInfo), []debug.Module{{Path: "x.org/y", Version: "v1.0.0"}}); !ok || !strings.HasPrefix(got, infoStart+"go\tgo1.26.8\npath\t") || !strings.Contains(got, "dep\tx.org/y\tv1.0.0\t\n") {
		t.Errorf("with a go line: %q, %v", got, ok)
	}
	// Nothing to add: unchanged, and recognised.
	if got, ok := AddDeps(modinfo(userInfo), nil); !ok || got != modinfo(userInfo) {
		t.Errorf("AddDeps with no deps changed the text or did not recognise it")
	}
}
