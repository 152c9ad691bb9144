package logtest_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/logtest"
)

// TestBufferConcurrent is for -race: a logger writes from many goroutines
// and every line arrives whole.
func TestBufferConcurrent(t *testing.T) {
	var logs logtest.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			log.Info("hello", "i", i)
			_ = logs.String()
		})
	}
	wg.Wait()
	got := logs.String()
	if lines := strings.Count(got, "\n"); lines != n {
		t.Fatalf("got %d lines, want %d:\n%s", lines, n, got)
	}
	for i := range n {
		if want := fmt.Sprintf("msg=hello i=%d\n", i); !strings.Contains(got, want) {
			t.Errorf("got no line ending %q in:\n%s", want, got)
		}
	}
}
