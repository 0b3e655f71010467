//go:build !unix

package injector

import "os/exec"

func detach(cmd *exec.Cmd) {}
