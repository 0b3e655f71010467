package injector

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

// toolOutput runs tool with args and returns its standard output.
func toolOutput(tool string, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(tool, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", tool, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
