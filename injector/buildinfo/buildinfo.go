// Package buildinfo adds the modules of the runtime that ottoolexec links
// into a program to the program's embedded module information, so that
// `go version -m` and vulnerability scanners that read a binary
// (govulncheck -mode=binary, SBOM tools) see every module it contains.
//
// The go command hands the linker that information as the "modinfo" line
// of the link's import config: the text of runtime/debug.BuildInfo,
// between two 16-byte markers (cmd/go/internal/modload.ModInfoData) by
// which readers find it in a binary. The runtime's modules are not in the
// user's module graph, so the go command leaves them out.
package buildinfo

import (
	"runtime/debug"
	"sort"
	"strings"
)

// The markers around the text, as the go command writes them.
const (
	infoStart = "\x30\x77\xaf\x0c\x92\x74\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6"
	infoEnd   = "\xf9\x32\x43\x31\x86\x18\x20\x72\x00\x82\x42\x10\x41\x16\xd8\xf2"
)

// AddDeps returns modinfo with a dep line for each module of deps that it
// does not list yet, in path order as the go command sorts them. Anything
// it does not recognise as the go command's own format (no markers, text
// that does not read back the same) is returned unchanged, with false:
// the program's identity is not worth a failed build.
func AddDeps(modinfo string, deps []debug.Module) (string, bool) {
	text, ok := strings.CutPrefix(modinfo, infoStart)
	if !ok {
		return modinfo, false
	}
	text, ok = strings.CutSuffix(text, infoEnd)
	if !ok {
		return modinfo, false
	}
	// The go command leaves the go line out (the runtime adds its own
	// version when it reads the text back); keep one if it is there.
	goLine := ""
	if strings.HasPrefix(text, "go\t") {
		line, rest, _ := strings.Cut(text, "\n")
		goLine, text = line+"\n", rest
	}
	bi, err := debug.ParseBuildInfo(text)
	if err != nil || bi.String() != text {
		return modinfo, false
	}
	have := make(map[string]bool, len(bi.Deps)+1)
	have[bi.Main.Path] = true
	for _, d := range bi.Deps {
		have[d.Path] = true
	}
	added := false
	for _, d := range deps {
		if have[d.Path] {
			continue
		}
		have[d.Path] = true
		bi.Deps = append(bi.Deps, &d)
		added = true
	}
	if !added {
		return modinfo, true
	}
	sort.SliceStable(bi.Deps, func(i, j int) bool { return bi.Deps[i].Path < bi.Deps[j].Path })
	return infoStart + goLine + bi.String() + infoEnd, true
}
