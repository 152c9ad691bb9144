package clocktest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
)

func TestClock(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := clocktest.New(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now: got %v, want %v", got, start)
	}
	c.Advance(90 * time.Second)
	if got, want := c.Now(), start.Add(90*time.Second); !got.Equal(want) {
		t.Fatalf("after Advance: got %v, want %v", got, want)
	}
	c.Set(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("after Set: got %v, want %v", got, start)
	}
}

func TestClockZero(t *testing.T) {
	var c clocktest.Clock
	if got := c.Now(); !got.IsZero() {
		t.Fatalf("zero Clock: got %v, want the zero time", got)
	}
}

// TestClockConcurrent is for -race: readers and movers share one Clock.
func TestClockConcurrent(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := clocktest.New(start)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			c.Advance(time.Second)
			_ = c.Now()
		})
	}
	wg.Wait()
	if got, want := c.Now(), start.Add(8*time.Second); !got.Equal(want) {
		t.Fatalf("after 8 concurrent Advances: got %v, want %v", got, want)
	}
}
