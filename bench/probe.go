package main

// The probe is this same program run as the go command's toolexec in front
// of ottoolexec: -toolexec="<bench> tool <ottoolexec>". The word "tool" is
// there because ottoolexec finds the go command it serves by reading its
// parent's command line and steps over a parent that says "tool" (as `go
// tool ottoolexec` does); without it ottoolexec would take the probe for
// the go command.
//
// For each tool invocation the probe starts ottoolexec, watches it through
// /proc until it execs the real tool (its command name changes) or exits,
// and appends one JSON line to $OTTOOLEXEC_BENCH_PROBE:
//
//   - how long ottoolexec ran before handing over to the tool,
//   - its peak RSS in that time (VmHWM, sampled every 0.25-1 ms; the
//     value is the peak so far, so only a peak in the last sample gap
//     before exec can be missed),
//   - the maximum RSS of the whole process tree (wait4), which includes
//     the tool itself,
//   - the processes ottoolexec started meanwhile and theirs (the nested go
//     commands and, under them, nested ottoolexec and compile processes),
//     found by scanning /proc every 20 ms.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const probeEnv = "OTTOOLEXEC_BENCH_PROBE"

// probeRecord is one toolexec invocation as the probe saw it.
type probeRecord struct {
	Tool      string        `json:"tool"`
	Ticks     int64         `json:"ticks"` // start time in clock ticks since boot (/proc/<pid>/stat)
	Pkg       string        `json:"pkg,omitempty"`
	Version   bool          `json:"version,omitempty"` // a -V=full query
	Start     int64         `json:"start"`             // unix ns
	PhaseNs   int64         `json:"phase_ns"`          // ottoolexec's own time, before exec
	TotalNs   int64         `json:"total_ns"`
	HWMKB     int64         `json:"hwm_kb"`      // ottoolexec's peak RSS before exec
	TreeRSSKB int64         `json:"tree_rss_kb"` // wait4 maxrss of the tree, tool included
	Exit      int           `json:"exit"`
	Samples   int           `json:"samples"`
	Desc      []*descRecord `json:"desc,omitempty"`
}

// descRecord is one descendant process of an ottoolexec invocation.
type descRecord struct {
	Pid       int      `json:"pid"`
	PPid      int      `json:"ppid"`
	Comm      string   `json:"comm"`           // last seen command name
	Args      []string `json:"args,omitempty"` // for go commands
	Tool      string   `json:"tool,omitempty"` // for tool invocations (nested ottoolexec or the tool)
	Pkg       string   `json:"pkg,omitempty"`
	Ticks     int64    `json:"ticks"` // start time in clock ticks since boot
	First     int64    `json:"first"` // unix ns, first and last seen
	Last      int64    `json:"last"`
	HWMKB     int64    `json:"hwm_kb"`    // peak RSS seen, whatever it ran
	OtHWMKB   int64    `json:"ot_hwm_kb"` // peak RSS seen while it was ottoolexec
	Sightings int      `json:"sightings"`
}

// probeMain runs args (ottoolexec, the tool, its arguments) and logs it.
func probeMain(logPath string, args []string) int {
	rec := &probeRecord{Tool: filepath.Base(args[min(1, len(args)-1)])}
	rec.Pkg, rec.Version = toolArgsInfo(args[2:])
	name := filepath.Base(args[0])
	if len(name) > 15 {
		name = name[:15] // the kernel's command name is at most 15 bytes
	}

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	rec.Start = start.UnixNano()
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "bench probe: %v\n", err)
		return 2
	}
	pid := cmd.Process.Pid
	_, rec.Ticks, _ = readStat(pid)
	status := fmt.Sprintf("/proc/%d/status", pid)
	desc := make(map[int]*descRecord)
	var lastScan time.Time
	for {
		st, ok := readStatus(status)
		if !ok || st.name != name || st.state == 'Z' || st.state == 'X' {
			break
		}
		rec.Samples++
		rec.HWMKB = max(rec.HWMKB, st.hwmKB)
		now := time.Now()
		if now.Sub(start) > 20*time.Millisecond && now.Sub(lastScan) > 20*time.Millisecond {
			scanDescendants(pid, 0, desc, now)
			lastScan = now
		}
		if now.Sub(start) < 20*time.Millisecond {
			time.Sleep(250 * time.Microsecond)
		} else {
			time.Sleep(time.Millisecond)
		}
	}
	rec.PhaseNs = time.Since(start).Nanoseconds()
	err := cmd.Wait()
	rec.TotalNs = time.Since(start).Nanoseconds()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rec.TreeRSSKB = ru.Maxrss
	}
	rec.Exit = cmd.ProcessState.ExitCode()
	for _, d := range desc {
		rec.Desc = append(rec.Desc, d)
	}
	if line, jerr := json.Marshal(rec); jerr == nil {
		if f, ferr := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666); ferr == nil {
			f.Write(append(line, '\n'))
			f.Close()
		}
	}
	if err != nil {
		if rec.Exit > 0 {
			return rec.Exit
		}
		return 2
	}
	return 0
}

// toolArgsInfo finds the package (-p) of a tool command line and whether
// it is a -V=full query.
func toolArgsInfo(args []string) (pkg string, version bool) {
	for i, a := range args {
		switch {
		case a == "-V=full":
			version = true
		case a == "-p" && i+1 < len(args):
			pkg = args[i+1]
		case strings.HasPrefix(a, "-p="):
			pkg = a[3:]
		}
	}
	return pkg, version
}

type procStatus struct {
	name  string
	state byte
	ppid  int
	hwmKB int64
}

// readStatus parses /proc/<pid>/status; ok is false once it is gone.
func readStatus(path string) (procStatus, bool) {
	var st procStatus
	data, err := os.ReadFile(path)
	if err != nil {
		return st, false
	}
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch string(k) {
		case "Name":
			st.name = string(v)
		case "State":
			if len(v) > 0 {
				st.state = v[0]
			}
		case "PPid":
			st.ppid, _ = strconv.Atoi(string(v))
		case "VmHWM":
			st.hwmKB, _ = strconv.ParseInt(strings.TrimSuffix(string(v), " kB"), 10, 64)
		}
	}
	return st, true
}

// scanDescendants records every live descendant of root, except skip and
// its descendants.
func scanDescendants(root, skip int, desc map[int]*descRecord, now time.Time) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	children := make(map[int][]int)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, _, ok := readStat(pid)
		if ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	queue := append([]int(nil), children[root]...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if pid == skip {
			continue
		}
		queue = append(queue, children[pid]...)
		st, ok := readStatus(fmt.Sprintf("/proc/%d/status", pid))
		if !ok {
			continue
		}
		d := desc[pid]
		if d == nil {
			d = &descRecord{Pid: pid, PPid: st.ppid, First: now.UnixNano()}
			_, d.Ticks, _ = readStat(pid)
			desc[pid] = d
		}
		if d.Comm != "" && d.Comm != st.name {
			// It has exec'd since: what it runs now is what counts (a
			// child seen between fork and exec still shows its parent's
			// command line).
			d.Args, d.Tool, d.Pkg = nil, "", ""
		}
		d.Comm = st.name
		d.Last = now.UnixNano()
		d.Sightings++
		d.HWMKB = max(d.HWMKB, st.hwmKB)
		if st.name == "ottoolexec" {
			d.OtHWMKB = max(d.OtHWMKB, st.hwmKB)
		}
		if d.Args == nil && d.Tool == "" {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
			describeArgs(d, args)
		}
	}
}

// describeArgs keeps what matters of a descendant's command line: the
// arguments of a go command (without long -json field lists), or the tool
// and package of a tool invocation.
func describeArgs(d *descRecord, args []string) {
	if len(args) == 0 || args[0] == "" {
		return
	}
	base := filepath.Base(args[0])
	if base == "go" {
		for _, a := range args[1:] {
			if len(a) > 60 {
				a = a[:57] + "..."
			}
			d.Args = append(d.Args, a)
		}
		return
	}
	tool := base
	rest := args[1:]
	if base == "ottoolexec" && len(args) > 1 {
		tool, rest = filepath.Base(args[1]), args[2:]
	}
	d.Tool = tool
	d.Pkg, _ = toolArgsInfo(rest)
}

// readStat returns a process's parent and start time (clock ticks since
// boot) from /proc/<pid>/stat.
func readStat(pid int) (ppid int, ticks int64, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name, in parentheses, may hold spaces: fields start
	// after the last ')', with the state (field 3) first.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, false
	}
	ticks, _ = strconv.ParseInt(f[19], 10, 64)
	return ppid, ticks, true
}

// readProbeLog reads the records the probes of one build wrote.
func readProbeLog(path string) ([]*probeRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []*probeRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r probeRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("probe log %s: %w", path, err)
		}
		recs = append(recs, &r)
	}
	return recs, sc.Err()
}
