package jaegertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	// JaegerModule is the module the jaeger binary is built from.
	JaegerModule = "github.com/jaegertracing/jaeger"
	// JaegerVersion is the pinned version of JaegerModule.
	JaegerVersion = "v1.76.0"
	// jaegerPackage is the main package of the Jaeger v2 all-in-one program.
	jaegerPackage = JaegerModule + "/cmd/jaeger"
)

// CacheEnv names the environment variable that overrides the cache directory.
const CacheEnv = "OTTOOLEXEC_TEST_CACHE"

// CacheDir returns the directory this package keeps built tools in:
// $OTTOOLEXEC_TEST_CACHE if set, else os.UserCacheDir()/ottoolexec-test.
func CacheDir() (string, error) {
	if dir := os.Getenv(CacheEnv); dir != "" {
		return filepath.Abs(dir)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("jaegertest: no cache directory (set %s): %w", CacheEnv, err)
	}
	return filepath.Join(base, "ottoolexec-test"), nil
}

// Binary returns the path of the jaeger binary (JaegerVersion), building it
// from the Go module proxy into the cache directory the first time. The build
// takes minutes; later calls return at once. Concurrent callers, in this or
// other processes, wait for a single build (guarded by a file lock).
func Binary(ctx context.Context) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "jaeger-"+JaegerVersion)
	bin := filepath.Join(dir, "jaeger")
	if usable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("jaegertest: creating cache dir: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if usable(bin) { // another process built it while we waited
		return bin, nil
	}
	// Holding the lock, any build dir left is from a builder that died.
	stale, _ := filepath.Glob(filepath.Join(dir, "build-*"))
	for _, d := range stale {
		os.RemoveAll(d)
	}
	if err := build(ctx, dir, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// usable reports whether path is a non-empty executable regular file.
func usable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0 && fi.Mode().Perm()&0o111 != 0
}

// lockFile takes an exclusive flock on path, polling so that ctx can end
// the wait. The returned func releases it.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("jaegertest: opening lock file: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("jaegertest: locking %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("jaegertest: waiting for another build of jaeger (lock %s): %w", path, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// build compiles jaeger in a throwaway module under dir and renames the
// result to bin. The caller holds the lock.
func build(ctx context.Context, dir, bin string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("jaegertest: building jaeger: go command not found: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return fmt.Errorf("jaegertest: building jaeger: %w", err)
	}
	defer os.RemoveAll(tmp)

	// GOFLAGS as the go command sees it (environment or go env -w file),
	// without -toolexec (the build under test must not wrap jaeger) and
	// with -mod=mod (the throwaway module has no vendor dir and a go.sum we fill).
	out, err := runGo(ctx, goTool, tmp, os.Environ(), "env", "GOFLAGS")
	if err != nil {
		return fmt.Errorf("jaegertest: building jaeger: go env GOFLAGS: %w", err)
	}
	env := buildEnv(os.Environ(), strings.TrimSpace(out))

	steps := [][]string{
		{"mod", "init", "jaegerbuild"},
		{"get", "-tool", jaegerPackage + "@" + JaegerVersion},
		{"build", "-trimpath", "-o", filepath.Join(tmp, "jaeger"), jaegerPackage},
	}
	for _, args := range steps {
		if _, err := runGo(ctx, goTool, tmp, env, args...); err != nil {
			return fmt.Errorf("jaegertest: building jaeger %s: go %s: %w", JaegerVersion, strings.Join(args, " "), err)
		}
	}
	if err := os.Rename(filepath.Join(tmp, "jaeger"), bin); err != nil {
		return fmt.Errorf("jaegertest: installing jaeger binary: %w", err)
	}
	return nil
}

// buildEnv returns environ with GOFLAGS replaced by goflags minus any
// -toolexec and -mod flags, plus -mod=mod; and with GOWORK=off and
// CGO_ENABLED=0 (jaeger needs no cgo; no C compiler is then required).
func buildEnv(environ []string, goflags string) []string {
	flags := []string{"-mod=mod"}
	for _, f := range strings.Fields(goflags) {
		name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if name == "toolexec" || name == "mod" {
			continue
		}
		flags = append(flags, f)
	}
	env := make([]string, 0, len(environ)+3)
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOFLAGS", "GOWORK", "CGO_ENABLED":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOFLAGS="+strings.Join(flags, " "), "GOWORK=off", "CGO_ENABLED=0")
}

// runGo runs the go command in dir and returns its stdout. On failure the
// error carries the tail of its combined output.
func runGo(ctx context.Context, goTool, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, both bytes.Buffer
	cmd.Stdout = &multi{&stdout, &both}
	cmd.Stderr = &both
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return "", fmt.Errorf("%w\n%s", err, tail(both.Bytes(), 4096))
	}
	return stdout.String(), nil
}

type multi [2]*bytes.Buffer

func (m *multi) Write(p []byte) (int, error) {
	m[0].Write(p)
	return m[1].Write(p)
}

// tail returns the last n bytes of b, starting at a line boundary if it was cut.
func tail(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	b = b[len(b)-n:]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return "...\n" + string(b)
}
