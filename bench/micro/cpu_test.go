package micro

import (
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

// CPU time, next to go test's wall ns/op: on a shared machine a benchmark
// that is descheduled keeps counting wall time but not CPU time, so
// cpu-ns/op is the cost of one call however loaded the machine is (caches
// and frequency still vary). Per thread for the benchmarks that run on one
// goroutine (locked to its thread for the measurement), per process for
// the one that starts goroutines.

const (
	clockProcessCPU = 2 // CLOCK_PROCESS_CPUTIME_ID
	clockThreadCPU  = 3 // CLOCK_THREAD_CPUTIME_ID
)

func cpuNow(clock int) int64 {
	var ts syscall.Timespec
	if _, _, errno := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, uintptr(clock), uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		panic(errno)
	}
	return ts.Nano()
}

type cpuTimer struct {
	clock int
	start int64
}

// startCPU starts measuring; thread says per thread (the calling goroutine
// is then locked to its thread until stop).
func startCPU(thread bool) cpuTimer {
	if thread {
		runtime.LockOSThread()
		return cpuTimer{clockThreadCPU, cpuNow(clockThreadCPU)}
	}
	return cpuTimer{clockProcessCPU, cpuNow(clockProcessCPU)}
}

// stop reports the CPU time since start per iteration of b's loop as the
// metric cpu-ns/op. Call it right after the b.Loop loop.
func (t cpuTimer) stop(b *testing.B) {
	d := cpuNow(t.clock) - t.start
	if t.clock == clockThreadCPU {
		runtime.UnlockOSThread()
	}
	b.ReportMetric(float64(d)/float64(b.N), "cpu-ns/op")
}
