//go:build !linux

package injector

import "os"

// parentCommand returns the command line and working directory of the go
// command that started this toolexec process. Without /proc the parent's
// own flags cannot be read: only GOFLAGS (inherited through the
// environment) reaches the nested build, and the directory is the one the
// tool runs in, so run go from the main module and put build flags that
// change compilation (-tags, -race, -trimpath) in GOFLAGS.
func parentCommand() (args []string, dir string, err error) {
	dir, err = os.Getwd()
	return []string{"go", "build"}, dir, err
}

// parentProcess is parentCommand, with the parent's process id.
func parentProcess() (pid int, args []string, dir string, err error) {
	args, dir, err = parentCommand()
	return os.Getppid(), args, dir, err
}
