package tenancy

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// hung is a store whose key reads hang while down is set (a PostgreSQL
// that accepts connections and never answers) until the test releases
// one (it then fails) or its context ends, and which counts them.
type hung struct {
	*flaky
	release chan struct{}
	mu      sync.Mutex
	reads   int
}

func (h *hung) GetKeyByHash(ctx context.Context, hash [32]byte) (store.Key, error) {
	h.mu.Lock()
	h.reads++
	h.mu.Unlock()
	if h.flaky.down.Load() {
		select {
		case <-ctx.Done():
			return store.Key{}, ctx.Err()
		case <-h.release:
			return store.Key{}, errDown
		}
	}
	return h.flaky.Store.GetKeyByHash(ctx, hash)
}

func (h *hung) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reads
}

// TestStoreFailureRemembered: once a store read has failed, lookups do not
// read the store for a backoff (1s, doubling up to 5s while reads keep
// failing): a cached key past its TTL is served from its entry and an
// unknown key gets 503 at once, instead of each waiting the lookup timeout
// on a store that hangs. When the backoff has passed, one lookup of a
// cached key reads the store in the background, the key served meanwhile;
// once a read succeeds, lookups read as before.
func TestStoreFailureRemembered(t *testing.T) {
	f := newFixture(t, false)
	st := &hung{flaky: f.st, release: make(chan struct{}, 1)}
	f.g = New(Options{Store: st, Now: f.clk.Now, CacheTTL: 5 * time.Second, LookupTimeout: 3 * time.Second})
	ctx := context.Background()
	skHash := auth.Hash("sk")
	f.addKey(t, "t1", "sk", nil)
	f.addKey(t, "t1", "sk-new", nil)
	if _, err := f.g.Authenticate(ctx, bearer("sk")); err != nil {
		t.Fatal(err)
	}
	st.flaky.down.Store(true)
	f.clk.Add(6 * time.Second)
	// The first lookup past the TTL reads the store (released at once
	// here: it fails) and serves the key from its entry.
	st.release <- struct{}{}
	if _, err := f.g.Authenticate(ctx, bearer("sk")); err != nil {
		t.Fatalf("cached key, the store failing: %v", err)
	}
	// lookups makes n lookups of the cached key and one of a new one, none
	// of which may wait on the store, and returns how many read it.
	lookups := func(n int) int {
		t.Helper()
		before, start := st.count(), time.Now()
		for i := range n {
			if _, err := f.g.Authenticate(ctx, bearer("sk")); err != nil {
				t.Fatalf("cached key, lookup %d with the store hung: %v", i, err)
			}
		}
		if got := deniedCode(f.g.Authenticate(ctx, bearer("sk-new"))); got != "auth_unavailable" {
			t.Fatalf("new key with the store hung: got %q, want auth_unavailable", got)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("%d lookups with the store hung took %v, want no wait on the store", n+1, d)
		}
		return st.count() - before
	}
	if got := lookups(10); got != 0 {
		t.Fatalf("lookups right after a failed read: %d store reads, want none (the failure remembered)", got)
	}
	retryIn := func() time.Duration {
		f.g.backoffMu.Lock()
		defer f.g.backoffMu.Unlock()
		return f.g.retryAt.Sub(f.clk.Now())
	}
	backoffs := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, wait := range backoffs {
		f.clk.Add(wait - time.Millisecond)
		if got := lookups(5); got != 0 {
			t.Fatalf("within the %v backoff: %d store reads, want none", wait, got)
		}
		f.clk.Add(time.Millisecond)
		before := st.count()
		lookups(5) // one of them starts a read, in the background: it hangs
		clocktest.WaitFor(t, "the store read once the backoff has passed", func() bool { return st.count() == before+1 })
		st.release <- struct{}{}
		next := 5 * time.Second
		if i+1 < len(backoffs) {
			next = backoffs[i+1]
		}
		clocktest.WaitFor(t, "the read's failure to set the next backoff", func() bool { return retryIn() == next })
		// The read sets the backoff before its call has quite ended; a
		// lookup due meanwhile would join it rather than read the store.
		f.g.flight.Forget(string(skHash[:]))
		if got := st.count() - before; got != 1 {
			t.Fatalf("once the %v backoff had passed: %d store reads, want 1", wait, got)
		}
	}
	// The store answers again: the next read (in the background, for the
	// cached key) finds it so, and lookups read it as before.
	st.flaky.down.Store(false)
	f.clk.Add(5 * time.Second)
	if _, err := f.g.Authenticate(ctx, bearer("sk")); err != nil {
		t.Fatal(err)
	}
	clocktest.WaitFor(t, "the store to be found answering", f.g.storeOK.Load)
	if _, err := f.g.Authenticate(ctx, bearer("sk-new")); err != nil {
		t.Fatalf("new key once the store answers: %v", err)
	}
	if got := deniedCode(f.g.Authenticate(ctx, bearer("sk-unknown"))); got != "invalid_api_key" {
		t.Fatalf("unknown key once the store answers: got %q, want invalid_api_key", got)
	}
}
