package admin

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Failed sign-ins are counted per client address, so that a key cannot be
// guessed at the rate the listener answers: an address gets maxFailures
// tries that fail within failureWindow, then is refused at once (429)
// until its window ends. A try is counted before its key is checked and
// given back when the key was good, so that tries sent together cannot
// all pass the check, and a sign-in with a good key (a tenant admin's
// own) does not clear what the address guessed before. The first failure
// and the one that reaches the limit are logged (the address and the
// count, never the key sent).
const (
	maxFailures   = 10
	failureWindow = time.Minute
	// maxTracked bounds the addresses counted. When it is reached, windows
	// that ended are dropped; an address that still finds no room shares
	// one count, overflowAddr, with every other such address.
	maxTracked = 10_000
)

// overflowAddr is the count of the addresses maxTracked leaves no room
// for.
const overflowAddr = "*"

type failures struct {
	start time.Time
	n     int
}

type signins struct {
	mu     sync.Mutex
	byAddr map[string]*failures
}

// clientAddr is the address a request's failed sign-ins are counted
// under: its remote IP (the admin listener is reached directly, so no
// forwarding header is trusted), an IPv6 client by its /64, which one
// host usually holds whole.
func clientAddr(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// attempt counts a try from addr and returns 0, or, when addr's tries are
// spent, how long it must wait (the try is not counted).
func (s *signins) attempt(addr string, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.slot(addr, now)
	if f.n >= maxFailures {
		return f.start.Add(failureWindow).Sub(now)
	}
	f.n++
	return 0
}

// slot is addr's count, started afresh when its window ended; s.mu is
// held.
func (s *signins) slot(addr string, now time.Time) *failures {
	if s.byAddr == nil {
		s.byAddr = map[string]*failures{}
	}
	f := s.byAddr[addr]
	if f != nil && now.Sub(f.start) < failureWindow {
		return f
	}
	if f == nil && len(s.byAddr) >= maxTracked {
		for a, w := range s.byAddr {
			if now.Sub(w.start) >= failureWindow {
				delete(s.byAddr, a)
			}
		}
		if len(s.byAddr) >= maxTracked {
			addr = overflowAddr
			if f = s.byAddr[addr]; f != nil && now.Sub(f.start) < failureWindow {
				return f
			}
		}
	}
	f = &failures{start: now}
	s.byAddr[addr] = f
	return f
}

// count is addr's tries in its window so far.
func (s *signins) count(addr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.byAddr[addr]; f != nil {
		return f.n
	}
	if f := s.byAddr[overflowAddr]; f != nil {
		return f.n
	}
	return 0
}

// giveBack returns a try that was no guess (its key was good, or it could
// not be checked).
func (s *signins) giveBack(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.byAddr[addr]
	if f == nil {
		f = s.byAddr[overflowAddr]
	}
	if f != nil && f.n > 0 {
		f.n--
	}
}
