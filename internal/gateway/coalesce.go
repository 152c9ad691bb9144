package gateway

import (
	"context"
	"sync"

	"github.com/switchyard-gw/switchyard/internal/cache"
)

// flights coalesces identical cache misses in one process: while one
// request (the leader) is upstream, a request with the same cache key waits
// for the leader's answer instead of calling a model again, and is served
// it as a cache hit. Only non-streamed requests wait: a stream's follower
// would get nothing until the leader's last token, later than its own first
// token would come. Replicas do not coalesce with each other.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
	// waiting counts the requests waiting on some flight (for tests).
	waiting int
}

// flight is one leader's request in progress.
type flight struct {
	done chan struct{}
	// entry is the leader's answer, set before done is closed; nil when
	// the answer is not one to share (an error, a cut, too large).
	entry *cache.Entry
}

// join returns the flight in progress under key, or starts one with the
// caller as its leader; a leader must call land exactly once.
func (f *flights) join(key string) (fl *flight, leader bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl := f.m[key]; fl != nil {
		return fl, false
	}
	if f.m == nil {
		f.m = make(map[string]*flight)
	}
	fl = &flight{done: make(chan struct{})}
	f.m[key] = fl
	return fl, true
}

// land ends the leader's flight under key with its answer (nil: none to
// share); the requests waiting on it wake.
func (f *flights) land(key string, fl *flight, e *cache.Entry) {
	f.mu.Lock()
	if f.m[key] == fl {
		delete(f.m, key)
	}
	f.mu.Unlock()
	fl.entry = e
	close(fl.done)
}

// wait returns the leader's answer once it lands, or nil when there is
// none to share or ctx ends first.
func (f *flights) wait(ctx context.Context, fl *flight) *cache.Entry {
	f.mu.Lock()
	f.waiting++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.waiting--
		f.mu.Unlock()
	}()
	select {
	case <-fl.done:
		return fl.entry
	case <-ctx.Done():
		return nil
	}
}

// waiters is the number of requests waiting on a flight.
func (f *flights) waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waiting
}
