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
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%v: %s", err, msg)
		}
		return "", fmt.Errorf("%s %s: %w", tool, strings.Join(args, " "), err)
	}
	return string(out), nil
}
