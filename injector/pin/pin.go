// Package pin records in a user's go.mod and go.sum what the ottoolexec
// runtime needs, for teams who want those versions reviewed and fixed, and
// adds ottoolexec as a tool so `go tool ottoolexec` runs the pinned one.
//
// Pinning never raises a version the module already requires: if the
// runtime needs a newer one, Pin changes nothing and says which.
package pin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"

	"github.com/ottoolexec/ottoolexec/injector/resolve"
)

// ToolPackage is the package `go tool ottoolexec` runs.
const ToolPackage = resolve.ModulePath + "/cmd/ottoolexec"

// Options say what to pin where.
type Options struct {
	Dir     string // a directory of the module to pin
	GoCmd   string // the go command
	Version string // ottoolexec version for the tool line; "" adds none
}

// Change is one requirement Pin added or raised.
type Change struct {
	Path, Old, New string // Old is "" for an added requirement
}

// Pin edits the main module's go.mod and go.sum and returns what changed.
func Pin(opts Options) ([]Change, error) {
	gomod, err := mainGoMod(opts)
	if err != nil {
		return nil, err
	}
	oldMod, err := os.ReadFile(gomod)
	if err != nil {
		return nil, err
	}
	gosum := strings.TrimSuffix(gomod, ".mod") + ".sum"
	oldSum, err := os.ReadFile(gosum)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	before, err := modfile.Parse(gomod, oldMod, nil)
	if err != nil {
		return nil, err
	}

	// Work on a copy: the real files change only when everything worked.
	tmp, err := os.MkdirTemp("", "ottoolexec-pin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	tmpMod, tmpSum := filepath.Join(tmp, "go.mod"), filepath.Join(tmp, "go.sum")
	_, runtimeSum, err := resolve.RuntimeGoMod()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(tmpMod, oldMod, 0o666); err != nil {
		return nil, err
	}
	if err := os.WriteFile(tmpSum, resolve.MergeSums(oldSum, runtimeSum), 0o666); err != nil {
		return nil, err
	}

	var gets []string
	if opts.Version != "" {
		if err := goCmd(opts, "get", "-modfile="+tmpMod, "-tool", ToolPackage+"@"+opts.Version); err != nil {
			return nil, err
		}
	}
	required := make(map[string]string)
	for _, r := range before.Require {
		required[r.Mod.Path] = r.Mod.Version
	}
	runtimeMods, err := runtimeRequirements()
	if err != nil {
		return nil, err
	}
	for _, m := range runtimeMods {
		if _, ok := required[m.Mod.Path]; !ok {
			gets = append(gets, m.Mod.Path+"@"+m.Mod.Version)
		}
	}
	if len(gets) > 0 {
		if err := goCmd(opts, append([]string{"get", "-modfile=" + tmpMod}, gets...)...); err != nil {
			return nil, err
		}
	}

	newMod, err := os.ReadFile(tmpMod)
	if err != nil {
		return nil, err
	}
	after, err := modfile.Parse(gomod, newMod, nil)
	if err != nil {
		return nil, err
	}
	var changes, raised []Change
	for _, r := range after.Require {
		old, had := required[r.Mod.Path]
		switch {
		case !had:
			changes = append(changes, Change{r.Mod.Path, "", r.Mod.Version})
		case semver.Compare(r.Mod.Version, old) > 0:
			raised = append(raised, Change{r.Mod.Path, old, r.Mod.Version})
		}
	}
	if len(raised) > 0 {
		var b strings.Builder
		for _, c := range raised {
			fmt.Fprintf(&b, "\n\t%s %s -> %s", c.Path, c.Old, c.New)
		}
		return nil, fmt.Errorf("pinning would raise versions %s requires, and ottoolexec does not change your versions:%s\nupgrade them yourself (go get) if you accept them, then pin again", gomod, b.String())
	}
	newSum, err := os.ReadFile(tmpSum)
	if err != nil {
		return nil, err
	}
	if err := replaceFile(gomod, newMod); err != nil {
		return nil, err
	}
	if err := replaceFile(gosum, newSum); err != nil {
		return nil, err
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	return changes, nil
}

// runtimeRequirements returns the runtime's module requirements.
func runtimeRequirements() ([]modfile.Require, error) {
	gomod, _, err := resolve.RuntimeGoMod()
	if err != nil {
		return nil, err
	}
	f, err := modfile.Parse("runtime go.mod", gomod, nil)
	if err != nil {
		return nil, err
	}
	var out []modfile.Require
	for _, r := range f.Require {
		out = append(out, *r)
	}
	return out, nil
}

func mainGoMod(opts Options) (string, error) {
	cmd := exec.Command(opts.GoCmd, "env", "-json", "GOMOD", "GOWORK")
	cmd.Dir = opts.Dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	var env struct{ GOMOD, GOWORK string }
	if err := json.Unmarshal(out, &env); err != nil {
		return "", err
	}
	if env.GOWORK != "" && env.GOWORK != "off" {
		return "", fmt.Errorf("%s is in the workspace %s: pin one of its modules with GOWORK=off", opts.Dir, env.GOWORK)
	}
	if env.GOMOD == "" || env.GOMOD == os.DevNull {
		return "", fmt.Errorf("%s is not in a module: there is no go.mod to pin in", opts.Dir)
	}
	return env.GOMOD, nil
}

func goCmd(opts Options, args ...string) error {
	cmd := exec.Command(opts.GoCmd, args...)
	cmd.Dir = opts.Dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// replaceFile writes data to path through a rename, so a failure never
// leaves a half-written go.mod.
func replaceFile(path string, data []byte) error {
	tmp := path + ".ottoolexec-tmp"
	if err := os.WriteFile(tmp, data, 0o666); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
