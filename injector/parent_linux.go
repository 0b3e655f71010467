package injector

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// parentCommand returns the command line and working directory of the go
// command that started this toolexec process. With -toolexec="go tool
// ottoolexec" the direct parent is `go tool`, and the build is its parent.
func parentCommand() (args []string, dir string, err error) {
	_, args, dir, err = parentProcess()
	return args, dir, err
}

// parentProcess is parentCommand, with the go command's process id.
func parentProcess() (pid int, args []string, dir string, err error) {
	pid = os.Getppid()
	for range 3 {
		proc := filepath.Join("/proc", strconv.Itoa(pid))
		data, err := os.ReadFile(filepath.Join(proc, "cmdline"))
		if err != nil {
			return 0, nil, "", fmt.Errorf("reading the parent go command's arguments: %w", err)
		}
		args = args[:0]
		for _, arg := range bytes.Split(bytes.TrimRight(data, "\x00"), []byte{0}) {
			args = append(args, string(arg))
		}
		if len(args) >= 2 && args[1] == "tool" {
			if pid, err = parentPID(proc); err != nil {
				return 0, nil, "", err
			}
			continue
		}
		dir, err = os.Readlink(filepath.Join(proc, "cwd"))
		if err != nil {
			return 0, nil, "", fmt.Errorf("reading the parent go command's directory: %w", err)
		}
		return pid, args, dir, nil
	}
	return 0, nil, "", fmt.Errorf("no go build command among the parents of this process")
}

// parentPID reads the parent of the process whose /proc directory is proc.
func parentPID(proc string) (int, error) {
	data, err := os.ReadFile(filepath.Join(proc, "stat"))
	if err != nil {
		return 0, fmt.Errorf("reading %s/stat: %w", proc, err)
	}
	// The command name, in parentheses, may hold spaces: fields start
	// after the last ')'.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(fields) < 2 {
		return 0, fmt.Errorf("malformed %s/stat", proc)
	}
	return strconv.Atoi(fields[1])
}
