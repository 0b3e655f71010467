package injector

import (
	"fmt"
	"os"
	"strings"
)

// toolArgs is a compile or link command line.
type toolArgs []string

// expandResponseFiles replaces each "@file" argument by the arguments the
// file holds, one per line with \n and \\ escaped, which is how the go
// command passes command lines too long for the OS.
func expandResponseFiles(args []string) (toolArgs, error) {
	var out toolArgs
	for _, arg := range args {
		if !strings.HasPrefix(arg, "@") {
			out = append(out, arg)
			continue
		}
		data, err := os.ReadFile(arg[1:])
		if err != nil {
			return nil, fmt.Errorf("reading response file: %w", err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			var b strings.Builder
			for i := 0; i < len(line); i++ {
				if line[i] == '\\' && i+1 < len(line) {
					i++
					if line[i] == 'n' {
						b.WriteByte('\n')
						continue
					}
				}
				b.WriteByte(line[i])
			}
			out = append(out, b.String())
		}
	}
	return out, nil
}

// flag returns the value of -name (given as "-name value" or
// "-name=value") and the index of the argument holding it.
func (a toolArgs) flag(name string) (value string, index int) {
	for i, arg := range a {
		if arg == "-"+name && i+1 < len(a) {
			return a[i+1], i + 1
		}
		if v, ok := strings.CutPrefix(arg, "-"+name+"="); ok {
			return v, i
		}
	}
	return "", -1
}

// setFlag replaces the value of -name found at index.
func (a toolArgs) setFlag(name string, index int, value string) {
	if strings.HasPrefix(a[index], "-"+name+"=") {
		a[index] = "-" + name + "=" + value
	} else {
		a[index] = value
	}
}

// goFiles returns the index of the first of the trailing .go file
// arguments of a compile command.
func (a toolArgs) goFiles() int {
	i := len(a)
	for i > 0 && strings.HasSuffix(a[i-1], ".go") && !strings.HasPrefix(a[i-1], "-") {
		i--
	}
	return i
}

// has reports whether the boolean flag (as "-std") is present.
func (a toolArgs) has(flag string) bool {
	for _, arg := range a {
		if arg == flag || arg == flag+"=true" {
			return true
		}
	}
	return false
}
