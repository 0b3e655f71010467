package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

// cmdResult is what one finished command cost.
type cmdResult struct {
	Wall     time.Duration
	CPU      time.Duration // user+sys of the command and every descendant it waited for
	MaxRSSKB int64         // largest RSS of any single process in the tree (wait4)
	Load     string        // 1-minute load average when it started
	Stdout   []byte

	// Processes the command left behind (detached, so reparented to this
	// program, the subreaper): they are waited for after the command, and
	// their CPU time and RSS count in CPU and MaxRSSKB above.
	Orphans    int
	OrphanWait time.Duration // how long they ran on after the command returned
}

// becomeSubreaper makes this process the one that orphaned descendants are
// reparented to, so that a detached process a build starts is still
// accounted for and waited for.
func becomeSubreaper() error {
	const prSetChildSubreaper = 36
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %v", errno)
	}
	return nil
}

// reapOrphans waits for every child left, adding up what they cost. Only
// call it when no exec.Cmd of this program is running.
func reapOrphans(ctx context.Context, res *cmdResult) {
	start := time.Now()
	for ctx.Err() == nil {
		var ws syscall.WaitStatus
		var ru syscall.Rusage
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, &ru)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			break // ECHILD: none left
		}
		if pid == 0 {
			time.Sleep(5 * time.Millisecond) // some still run
			continue
		}
		res.Orphans++
		res.CPU += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		res.MaxRSSKB = max(res.MaxRSSKB, ru.Maxrss)
	}
	if res.Orphans > 0 {
		res.OrphanWait = time.Since(start)
	}
}

// runCmd runs a command and fails with what names it (what), its exit
// status and the tail of what it printed.
func runCmd(ctx context.Context, what, dir string, env []string, args ...string) (cmdResult, error) {
	return runCmdWatch(ctx, nil, what, dir, env, args...)
}

// runCmdWatch is runCmd that calls started with the process once it runs.
// Then it waits for the processes the command left behind.
func runCmdWatch(ctx context.Context, started func(*os.Process), what, dir string, env []string, args ...string) (cmdResult, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	load := loadAvg()
	start := time.Now()
	err := cmd.Start()
	if err == nil {
		if started != nil {
			started(cmd.Process)
		}
		err = cmd.Wait()
	}
	res := cmdResult{Wall: time.Since(start), Stdout: stdout.Bytes(), Load: strings.Fields(load)[0]}
	if cmd.ProcessState != nil {
		res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.MaxRSSKB = ru.Maxrss
		}
	}
	reapOrphans(ctx, &res)
	if err != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("%s: interrupted", what)
		}
		return res, fmt.Errorf("%s failed: %v\n  command: %s (in %s)\n%s", what, err,
			strings.Join(args, " "), dir, indent(tail(stderr.String()+stdout.String(), 40)))
	}
	return res, nil
}

func tail(s string, lines int) string {
	s = strings.TrimRight(s, "\n")
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = append([]string{"  ..."}, parts[len(parts)-lines:]...)
	}
	return strings.Join(parts, "\n")
}

func indent(s string) string {
	if s == "" {
		return "  (no output)"
	}
	return "  | " + strings.ReplaceAll(s, "\n", "\n  | ")
}

// envWith returns base with the given KEY=value pairs set (replacing any
// earlier value) and the keys named in unset removed.
func envWith(base []string, set map[string]string, unset ...string) []string {
	drop := make(map[string]bool)
	for k := range set {
		drop[k] = true
	}
	for _, k := range unset {
		drop[k] = true
	}
	var out []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+set[k])
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func secs(d time.Duration) float64 { return d.Seconds() }

func mb(kb int64) float64 { return float64(kb) / 1024 }

// machine describes where the figures were taken.
type machine struct {
	Date, GoVersion, CPU, Kernel, Commit string
	Dirty                                []string // tracked files outside bench/ that differ from the commit
	NumCPU                               int
	LoadStart, LoadEnd                   string
}

func readMachine(ctx context.Context, goCmd, root string) machine {
	m := machine{Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), NumCPU: runtime.NumCPU()}
	if out, err := exec.CommandContext(ctx, "nproc").Output(); err == nil {
		fmt.Sscan(string(out), &m.NumCPU)
	}
	if out, err := exec.CommandContext(ctx, goCmd, "version").Output(); err == nil {
		m.GoVersion = strings.TrimSpace(string(out))
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "uname", "-sr").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	gitCmd := exec.CommandContext(ctx, "git", "log", "-1", "--format=%h %s")
	gitCmd.Dir = root
	if out, err := gitCmd.Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	gitCmd = exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench")
	gitCmd.Dir = root
	if out, err := gitCmd.Output(); err == nil {
		// Not TrimSpace: the first line starts with its status column.
		for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			if len(line) > 3 {
				m.Dirty = append(m.Dirty, line[3:])
			}
		}
	}
	m.LoadStart = loadAvg()
	return m
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
