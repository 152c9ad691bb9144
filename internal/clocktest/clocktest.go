// Package clocktest provides a manual clock for tests of code that takes
// its time as a func() time.Time, and WaitFor, to poll for what a test
// waits on: the rate limiter and budget conformance
// suites (ratelimittest, budgettest), their Redis tests and the simulator's
// fault tests drive refills, windows, day and month boundaries and fault
// schedules with it, instantly and without sleeping.
package clocktest

import (
	"sync"
	"testing"
	"time"
)

// Clock is a clock that moves only when told to. Pass its Now method where
// code wants a func() time.Time. Safe for concurrent use; the zero Clock
// reads the zero time.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a Clock reading t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t, backwards as well as forwards.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// WaitFor checks cond every 5 ms until it holds, and fails t when it has
// not within 10 s: how a test waits for something another goroutine or
// process does, instead of sleeping a guessed time.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 10s waiting for %s", what)
		}
		<-tick.C
	}
}
