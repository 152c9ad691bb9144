// Package fallback decides when a shared backend (Redis, for the rate
// limiter and the budgets) is used and when a local stand-in takes over:
// after a failure the backend is skipped, except for one probe call per
// interval, until a call succeeds again. It logs each transition once.
package fallback

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Switch tracks whether a backend is down. Safe for concurrent use.
type Switch struct {
	name     string // says what falls back, in the log lines
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger

	down      atomic.Bool
	mu        sync.Mutex // guards nextProbe
	nextProbe time.Time
}

// New returns a Switch that, while down, lets one probe through per
// interval. name prefixes its log lines ("ratelimit", "budget").
func New(name string, interval time.Duration, now func() time.Time, log *slog.Logger) *Switch {
	return &Switch{name: name, interval: interval, now: now, log: log}
}

// Name is what falls back ("ratelimit", "budget"), as the log lines say.
func (s *Switch) Name() string { return s.name }

// Active reports whether the local fallback is in force.
func (s *Switch) Active() bool { return s.down.Load() }

// Try reports whether this call should use the backend: always while it is
// up, and for one call per interval while it is down.
func (s *Switch) Try() bool {
	if !s.down.Load() {
		return true
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Before(s.nextProbe) {
		return false
	}
	s.nextProbe = now.Add(s.interval)
	return true
}

// Down records a backend failure; the next probe waits an interval.
func (s *Switch) Down(err error, attrs ...any) {
	s.mu.Lock()
	s.nextProbe = s.now().Add(s.interval)
	s.mu.Unlock()
	if !s.down.Swap(true) {
		s.log.Warn(s.name+": redis unavailable, enforcing the local share", append(attrs, "err", err)...)
	}
}

// Up records a backend success, leaving the fallback if it was in force.
func (s *Switch) Up() {
	if s.down.Load() && s.down.Swap(false) {
		s.log.Info(s.name + ": redis available again, leaving local fallback")
	}
}
