package injector

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
)

// The go command asks for the compiler's identity before it compiles
// anything, but needs the runtime's archives only when it compiles a main
// package, near the end of the build. Compiling the runtime (a nested go
// list -export) when the identity is first asked for lets it run alongside
// the build's own compiles instead of after them. It runs in a detached
// process so that -V=full answers at once; the main compile and the link
// then wait on the memo's lock and find the result, or, if the background
// run failed, resolve again themselves and report the error.

// ResolveCommand is the hidden subcommand the background process runs.
const ResolveCommand = "__resolve"

// parentInfo is how the background process learns which build it serves:
// its own parent is ottoolexec, not the go command.
type parentInfo struct {
	Tool string
	Args []string
	Dir  string
}

// startResolution starts the background resolution of the runtime's
// archives, unless they are memoised already.
func (b *build) startResolution(tool, identity string) {
	if b.session.HasArchives(identity) || os.Getenv("OTTOOLEXEC_NO_BACKGROUND") == "1" {
		return
	}
	self, err := os.Executable()
	if err != nil {
		return
	}
	info, err := json.Marshal(parentInfo{tool, b.parentArgs, b.parentDir})
	if err != nil {
		return
	}
	cmd := exec.Command(self, ResolveCommand, string(info))
	// No standard streams: the go command waits for -V=full's output pipe
	// to close, which an inheriting child would hold open.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	detach(cmd)
	if cmd.Start() == nil {
		cmd.Process.Release()
	}
}

// Resolve is the background process: args[0] is the parentInfo.
func Resolve(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s: want one argument", ResolveCommand)
	}
	var info parentInfo
	if err := json.Unmarshal([]byte(args[0]), &info); err != nil {
		return fmt.Errorf("%s: %w", ResolveCommand, err)
	}
	b, err := openBuild(info.Tool, info.Args, info.Dir)
	if err != nil {
		return err
	}
	_, err = b.archives()
	return err
}
