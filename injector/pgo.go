package injector

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Profile-guided optimisation. With -pgo=auto, the go command's default,
// a main package and everything it depends on are compiled with the
// default.pgo file in the main package's directory, if it has one. PGO
// changes inlining, so it changes export data: the nested build that
// compiles the runtime must compile it against standard library archives
// built with the same profile, or the linker rejects the mix with
// "fingerprint mismatch". A nested build of non-main packages would pick
// no profile on its own, so it is named for it (resolve.Session.PGO).
// An explicit -pgo=file or -pgo=off is repeated as it is.

// pgoForCompile returns the -pgo value for the nested build of the runtime
// that a compile of c's package needs, or "" to repeat the parent's flag.
func (c *compilation) pgoForCompile() (string, error) {
	if mode := c.build.session.Flags.PGO; mode != "" && mode != "auto" {
		return "", nil
	}
	if _, i := c.args.flag("pgoprofile"); i < 0 {
		return "off", nil // this compile has no profile: neither has its main
	}
	if c.unit.pkgPath == "main" && c.first < len(c.args) {
		return filepath.Join(filepath.Dir(c.args[c.first]), "default.pgo"), nil
	}
	return c.build.pgoFromPackages()
}

// pgoForLink returns the -pgo value for the runtime linked into the main
// package mainPath: what its compile recorded, or else what its directory
// holds.
func (b *build) pgoForLink(mainPath string) (string, error) {
	if mode := b.session.Flags.PGO; mode != "" && mode != "auto" {
		return "", nil
	}
	if p, ok := b.session.ReadNote(pgoNote(mainPath)); ok {
		if p == "repeat" {
			p = ""
		}
		return p, nil
	}
	return b.pgoFromPackages()
}

func pgoNote(mainPath string) string {
	sum := sha256.Sum256([]byte(mainPath))
	return fmt.Sprintf("pgo-main-%x", sum[:8])
}

// pgoFromPackages finds the profile of the main packages the parent go
// command builds. Several different profiles in one build would need one
// runtime per main package; that is refused with a way out.
func (b *build) pgoFromPackages() (string, error) {
	s := b.session
	pkgs := s.Flags.Packages
	if len(pkgs) == 0 {
		pkgs = []string{"."}
	}
	cmd := exec.Command(s.GoCmd, append([]string{"list", "-find", "-e", "-f", `{{if eq .Name "main"}}{{.Dir}}{{end}}`}, pkgs...)...)
	cmd.Dir = s.Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("finding the main packages' default.pgo (go list %s): %w: %s", strings.Join(pkgs, " "), err, strings.TrimSpace(stderr.String()))
	}
	byContent := make(map[[32]byte]string)
	var paths []string
	for _, dir := range strings.Fields(string(out)) {
		path := filepath.Join(dir, "default.pgo")
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("reading the PGO profile: %w", err)
		}
		sum := sha256.Sum256(data)
		if _, ok := byContent[sum]; !ok {
			byContent[sum] = path
			paths = append(paths, path)
		}
	}
	sort.Strings(paths)
	switch len(paths) {
	case 0:
		return "off", nil
	case 1:
		return paths[0], nil
	}
	return "", fmt.Errorf("this build compiles main packages with different PGO profiles (%s): ottoolexec compiles its runtime with one profile per build; build them one at a time, or name one profile with -pgo=file", strings.Join(paths, ", "))
}
