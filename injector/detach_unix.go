//go:build unix

package injector

import (
	"os/exec"
	"syscall"
)

// detach puts cmd in a session of its own, so that a Ctrl-C aimed at the
// build does not also kill a resolution that is about to finish.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}
