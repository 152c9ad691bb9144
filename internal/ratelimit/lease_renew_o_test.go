package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/redisbacked/redistest"
)

// TestRedisLeaseRenewedWhileHeld: a concurrency slot held longer than the
// lease (a Realtime session of an hour against a ten-minute lease) stays
// held while its replica runs: Run renews the lease every third of it.
// Once the replica stops renewing (it died), the slot frees itself within
// a lease, and a settled slot is free at once.
func TestRedisLeaseRenewedWhileHeld(t *testing.T) {
	prefix := redistest.Prefix(t)
	c := redistest.NewClient(t, redistest.Addr)
	clock := clocktest.New(time.Now())
	const ttl = time.Minute
	opts := ratelimit.RedisOptions{Now: clock.Now, LeaseTTL: ttl, ProbeInterval: 5 * time.Millisecond}
	l := ratelimit.NewRedis(c, prefix, opts)
	other := ratelimit.NewRedis(redistest.NewClient(t, redistest.Addr), prefix, opts)
	ctx := context.Background()
	req := ratelimit.Request{Scopes: []ratelimit.Scope{{Key: "key:rt", MaxConcurrent: 1}, {Key: "tenant:t", MaxConcurrent: 5}}}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { l.Run(rctx); close(done) }()
	stop := func() { cancel(); <-done }
	defer stop()

	session, err := l.Admit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// expiry is the lease's expiry in the set of scope.
	expiry := func(scope string) time.Time {
		zs, err := c.ZRangeWithScores(ctx, prefix+"{rl}:c:"+scope, 0, -1).Result()
		if err != nil || len(zs) != 1 {
			t.Fatalf("leases of %s: got %v, %v, want one", scope, zs, err)
		}
		return time.UnixMilli(int64(zs[0].Score))
	}
	// Five lease lengths, a third of one at a time.
	for i := range 15 {
		clock.Advance(ttl / 3)
		clocktest.WaitFor(t, "the held lease to be renewed", func() bool {
			return expiry("key:rt").Sub(clock.Now()) > ttl*2/3 && expiry("tenant:t").Sub(clock.Now()) > ttl*2/3
		})
		if tk, err := other.Admit(ctx, req); err == nil {
			tk.Settle(0)
			t.Fatalf("after %v: another replica was admitted beside the session holding the key's one slot", time.Duration(i+1)*ttl/3)
		}
	}
	if ms, err := c.PTTL(ctx, prefix+"{rl}:c:key:rt").Result(); err != nil || ms < ttl*2/3 {
		t.Errorf("the lease set's own expiry: got %v, %v, want it kept past the lease's", ms, err)
	}

	// The replica dies: its lease is no longer renewed and lapses.
	stop()
	clock.Advance(ttl + time.Millisecond)
	tk, err := other.Admit(ctx, req)
	if err != nil {
		t.Fatalf("a lease after its replica stopped renewing it: got %v, want it lapsed", err)
	}
	tk.Settle(0)
	session.Settle(0) // a late settle of the lapsed lease frees nothing else
	tk, err = other.Admit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Admit(ctx, req); err == nil {
		t.Error("a second request beside a held slot: got admitted, want refused")
	}
	tk.Settle(0)
}
