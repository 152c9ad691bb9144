//go:build unix

package learned

import (
	"syscall"
	"testing"
	"time"
)

// processCPU is the process's user+system CPU time: under a loaded shared
// machine it measures the work of a benchmark loop better than wall time.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Skipf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
