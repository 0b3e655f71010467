package injector

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// A cold build compiles the runtime's own packages (opentracing-go,
// jaeger-client-go and its Thrift code, ...) in the nested resolution of
// the first main package, at the very end of the build, when the build
// has nothing else left to run: every second of it adds to the build's
// wall time. Starting it earlier, when the build starts, compiled half of
// the standard library twice (once for the build, once for the nested
// command). There is one moment when that cannot happen for most of it:
// when the build starts compiling net/http, everything net/http depends on
// is compiled and in the build cache. Then a background go list -export of
// the runtime packages that do not depend on net/http compiles only those
// (the Thrift code, jaeger-lib, database/sql ...), alongside
// net/http's own long compile, and the main package's resolution finds
// them in the build cache. It waits for the background run first (see
// resolve.Session.Warm), so that no package is compiled twice at once.

// WarmCommand is the hidden subcommand of the background process.
const WarmCommand = "__warm"

// warmAfter is the package whose compile starts the background run.
const warmAfter = "net/http"

// warmInfo tells the background process which build it serves: its own
// parent is the compiler, not the go command.
type warmInfo struct {
	Tool     string
	Args     []string
	Dir      string
	BuildPID int    // the go command's: the background run ends when it does
	PGO      string // as compilation.pgoForCompile would say for a main package
}

// startWarm starts the background compile of the runtime packages that do
// not depend on warmAfter, whose compile c is. Nothing here may delay that
// compile or make it fail: errors only mean no background run.
func (c *compilation) startWarm() {
	if os.Getenv("TOOLEXEC_IMPORTPATH") != warmAfter || os.Getenv("OTTOOLEXEC_NO_WARM") == "1" {
		return // a test variant of net/http, or switched off
	}
	pid, args, dir, err := parentProcess()
	if err != nil {
		return
	}
	info := warmInfo{Tool: c.tool, Args: args, Dir: dir, BuildPID: pid, PGO: "off"}
	if _, i := c.args.flag("pgoprofile"); i >= 0 {
		// Profile-guided: the runtime is compiled with the profile of the
		// main package it is linked into, unknown until then.
		return
	}
	data, err := json.Marshal(info)
	if err != nil {
		return
	}
	self, err := os.Executable()
	if err != nil {
		return
	}
	cmd := exec.Command(self, WarmCommand, string(data))
	// No standard streams: the go command reads the compiler's output
	// until the pipe closes, which an inheriting child would hold open.
	// The process stays in the build's process group, so that an
	// interrupted build (^C) interrupts it too.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	if cmd.Start() == nil {
		cmd.Process.Release()
	}
}

// Warm is the background process; args[0] is its warmInfo. Its errors
// are nobody's to read: the main compile resolves the runtime as always
// and reports what goes wrong.
func Warm(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s: want one argument", WarmCommand)
	}
	var info warmInfo
	if err := json.Unmarshal([]byte(args[0]), &info); err != nil {
		return fmt.Errorf("%s: %w", WarmCommand, err)
	}
	b, err := openBuild(info.Tool, info.Args, info.Dir)
	if err != nil {
		return err
	}
	flags := b.session.Flags
	if flags.PGO != "" && flags.PGO != "auto" {
		info.PGO = "" // the nested build repeats the parent's -pgo
	}
	b.session.PGO = info.PGO
	// A build that fails or is killed before its main package needs the
	// runtime leaves nobody to wait for this run: it stops with the build.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		for processExists(info.BuildPID) {
			time.Sleep(250 * time.Millisecond)
		}
		stop()
	}()
	b.session.Context = ctx
	id, self, err := b.ids()
	if err != nil {
		return err
	}
	return b.session.Warm(self, id, mainPackages(b.rules, b.exporters), warmAfter)
}
