package admin

import (
	"net"
	"sync"
	"time"
)

// Failed sign-ins are counted per client address, so that a key cannot be
// guessed at the rate the listener answers: after maxFailures refused keys
// within failureWindow, an address is refused at once (429) until its
// window ends, and the first failure and the one that reaches the limit
// are logged (the address and the count, never the key sent).
const (
	maxFailures   = 10
	failureWindow = time.Minute
	// maxTracked bounds the addresses counted; when full, windows that
	// have ended are dropped, then the map is started afresh.
	maxTracked = 10_000
)

type failures struct {
	start time.Time
	n     int
}

type signins struct {
	mu     sync.Mutex
	byAddr map[string]*failures
}

// clientAddr is the host of a request's remote address (no port): the
// admin listener is reached directly, so no forwarding header is trusted.
func clientAddr(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// blocked reports how long addr must wait before its next try, 0 when it
// may try now.
func (s *signins) blocked(addr string, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.byAddr[addr]
	if f == nil || f.n < maxFailures {
		return 0
	}
	if wait := f.start.Add(failureWindow).Sub(now); wait > 0 {
		return wait
	}
	delete(s.byAddr, addr)
	return 0
}

// failed counts a refused key from addr and returns the failures in its
// window so far.
func (s *signins) failed(addr string, now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byAddr == nil {
		s.byAddr = map[string]*failures{}
	}
	f := s.byAddr[addr]
	if f == nil || now.Sub(f.start) >= failureWindow {
		if len(s.byAddr) >= maxTracked {
			for a, w := range s.byAddr {
				if now.Sub(w.start) >= failureWindow {
					delete(s.byAddr, a)
				}
			}
			if len(s.byAddr) >= maxTracked {
				clear(s.byAddr)
			}
		}
		f = &failures{start: now}
		s.byAddr[addr] = f
	}
	f.n++
	return f.n
}

// succeeded forgets addr's failures.
func (s *signins) succeeded(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byAddr, addr)
}
