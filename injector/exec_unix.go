//go:build unix

package injector

import (
	"fmt"
	"os"
	"syscall"
)

// run replaces this process with tool, so that arguments, standard
// streams, signals and the exit status reach the go command exactly as if
// ottoolexec were not there.
func run(tool string, args []string) error {
	argv := append([]string{tool}, args...)
	if err := syscall.Exec(tool, argv, os.Environ()); err != nil {
		return fmt.Errorf("running %s: %w", tool, err)
	}
	return nil // not reached
}

// processExists reports whether process pid is still there (a zombie
// counts until its parent reaps it).
func processExists(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) != syscall.ESRCH
}
