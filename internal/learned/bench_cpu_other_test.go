//go:build !unix

package learned

import (
	"testing"
	"time"
)

// processCPU is unavailable here; the benchmark reports 0.
func processCPU(testing.TB) time.Duration { return 0 }
