//go:build !unix

package injector

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// run runs tool with the same standard streams and exits with its status.
func run(tool string, args []string) error {
	cmd := exec.Command(tool, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		os.Exit(exit.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("running %s: %w", tool, err)
	}
	os.Exit(0)
	return nil
}

// processExists reports whether process pid is still there.
func processExists(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
