package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ottoolexec/ottoolexec/internal/jaegertest"
)

// dynaliteVersion is the npm package version of dynalite the scripts use.
const dynaliteVersion = "4.0.0"

// cmdDynalite runs dynalite, an implementation of the DynamoDB API on
// LevelDB (in memory here), for the rest of the script, so that DynamoDB
// calls are tested without an AWS account.
//
//	dynalite start
//	    install dynalite with npm into the test cache the first time
//	    (~/.cache/ottoolexec-test/dynalite-4.0.0, or $OTTOOLEXEC_TEST_CACHE),
//	    start it on a free port of 127.0.0.1, set DYNAMODB_ENDPOINT to its
//	    URL, and stop it (by its pid) when the script ends
//
// Node.js and npm must be installed (the machine's nodejs package).
func cmdDynalite(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 || args[0] != "start" {
		ts.Fatalf("usage: dynalite start")
	}
	for _, tool := range []string{"npm", "node"} {
		if _, err := exec.LookPath(tool); err != nil {
			ts.Fatalf("dynalite needs Node.js and npm (Debian package nodejs): %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin, err := dynaliteBinary(ctx)
	ts.Check(err)

	// A free port: the kernel picks one, and dynalite takes it over.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)

	var out strings.Builder
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", port,
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.Stdout, cmd.Stderr = &out, &out
	ts.Check(cmd.Start())
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	ts.Defer(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		select {
		case <-done:
			ts.Fatalf("dynalite exited before listening on %s:\n%s", addr, out.String())
		default:
		}
		if time.Now().After(deadline) {
			ts.Fatalf("dynalite did not listen on %s within 30s:\n%s", addr, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	ts.Logf("dynalite %s (pid %d) on %s", dynaliteVersion, cmd.Process.Pid, addr)
	ts.Setenv("DYNAMODB_ENDPOINT", "http://"+addr)
}

// dynaliteBinary returns the dynalite program, installing the npm package
// into the test cache the first time. A file lock makes concurrent
// scripts and processes wait for one install.
func dynaliteBinary(ctx context.Context) (string, error) {
	cache, err := jaegertest.CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "dynalite-"+dynaliteVersion)
	bin := filepath.Join(dir, "node_modules", ".bin", "dynalite")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("dynalite: creating %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return "", fmt.Errorf("dynalite: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("dynalite: locking %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // installed while we waited
	}
	// npm keeps its own download cache under the real HOME, which the
	// test process (unlike the script) still has.
	cmd := exec.CommandContext(ctx, "npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "dynalite@"+dynaliteVersion)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("dynalite: npm install dynalite@%s into %s: %w\n%s", dynaliteVersion, dir, err, out)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", errors.Join(fmt.Errorf("dynalite: npm install left no %s:\n%s", bin, out), err)
	}
	return bin, nil
}
