package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/redisbacked/redistest"
)

// TestRedisFallbackSlotsLeasedOnRecovery: a request the local fallback
// admitted during an outage, still running when Redis answers again, holds
// its concurrency slot in Redis before the replica admits from Redis
// again, so the fleet never has more than max_concurrent in flight beside
// it; its settle frees the slot there. Recovery by a request's probe and by
// Run (found by audit AE, AE3: a max_concurrent 3 key had 6 in flight).
func TestRedisFallbackSlotsLeasedOnRecovery(t *testing.T) {
	for _, viaRun := range []bool{false, true} {
		name := "probe"
		if viaRun {
			name = "run"
		}
		t.Run(name, func(t *testing.T) {
			prefix := redistest.Prefix(t)
			p := redistest.StartProxy(t, redistest.Addr)
			clock := clocktest.New(time.Now())
			c := redistest.NewClient(t, p.Addr)
			l := ratelimit.NewRedis(c, prefix, ratelimit.RedisOptions{Replicas: 2, Now: clock.Now, ProbeInterval: time.Second})
			other := ratelimit.NewRedis(redistest.NewClient(t, redistest.Addr), prefix, ratelimit.RedisOptions{Replicas: 2, Now: clock.Now})
			ctx := context.Background()
			req := ratelimit.Request{Scopes: []ratelimit.Scope{{Key: "key:k", MaxConcurrent: 2}}}

			p.SetDown(true)
			for range 8 {
				_ = c.Ping(ctx).Err()
			}
			running, err := l.Admit(ctx, req) // the fallback's share of 1
			if err != nil || !l.Fallback() {
				t.Fatalf("admit during the outage: %v, fallback %v", err, l.Fallback())
			}
			p.SetDown(false)
			if viaRun {
				rctx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { l.Run(rctx); close(done) }()
				defer func() { cancel(); <-done }()
				clocktest.WaitFor(t, "the limiter to leave the fallback", func() bool { return !l.Fallback() })
			} else {
				clock.Advance(time.Second)
				tk, err := l.Admit(ctx, req) // the probe: 1 slot held, 1 free
				if err != nil || l.Fallback() {
					t.Fatalf("probe admit: %v, fallback %v; want admitted from redis", err, l.Fallback())
				}
				tk.Settle(0)
			}
			tk, err := other.Admit(ctx, req)
			if err != nil {
				t.Fatalf("other replica, second slot: %v", err)
			}
			var le *ratelimit.Error
			if _, err := other.Admit(ctx, req); !errors.As(err, &le) || le.Limit != ratelimit.LimitConcurrency {
				t.Fatalf("other replica, third request while 2 run: got %v, want refused for concurrency", err)
			}
			running.Settle(0)
			if _, err := other.Admit(ctx, req); err != nil {
				t.Fatalf("other replica after the fallback request ended: %v", err)
			}
			tk.Settle(0)
		})
	}
}

// TestRedisFallbackStartsFromFleetBuckets: when Redis fails, a replica's
// fallback starts from its share of what the fleet's bucket held (read by
// Run while Redis answers), not from a full bucket, and counts its own
// requests admitted through Redis and still running against its
// max_concurrent share (found by audit AE, AE2: a 20-RPM key got 41 in a
// minute).
func TestRedisFallbackStartsFromFleetBuckets(t *testing.T) {
	prefix := redistest.Prefix(t)
	p := redistest.StartProxy(t, redistest.Addr)
	clock := clocktest.New(time.Now())
	c := redistest.NewClient(t, p.Addr)
	l := ratelimit.NewRedis(c, prefix, ratelimit.RedisOptions{Replicas: 2, Now: clock.Now, ProbeInterval: 10 * time.Millisecond})
	other := ratelimit.NewRedis(redistest.NewClient(t, redistest.Addr), prefix, ratelimit.RedisOptions{Replicas: 2, Now: clock.Now})
	ctx := context.Background()
	rpm := ratelimit.Request{Scopes: []ratelimit.Scope{{Key: "key:r", RPM: 20}}}
	conc := ratelimit.Request{Scopes: []ratelimit.Scope{{Key: "key:c", MaxConcurrent: 2}}}

	admit := func(lim ratelimit.Limiter, req ratelimit.Request, n int) int {
		ok := 0
		for range n {
			if tk, err := lim.Admit(ctx, req); err == nil {
				tk.Settle(0)
				ok++
			}
		}
		return ok
	}
	if got := admit(l, rpm, 1) + admit(other, rpm, 19); got != 20 {
		t.Fatalf("via redis: admitted %d, want 20", got)
	}
	running, err := l.Admit(ctx, conc) // through redis, still running when it fails
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { l.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	clocktest.WaitFor(t, "l to read the fleet's bucket", func() bool { v, ok := l.SeenRPM("key:r"); return ok && v < 1 })

	p.SetDown(true)
	closePool(t, c)
	if got := admit(l, rpm, 10); got != 0 || !l.Fallback() {
		t.Fatalf("fallback, the minute's 20 used: admitted %d (fallback %v), want 0", got, l.Fallback())
	}
	clock.Advance(6 * time.Second) // the fleet bucket refills 2, this replica's share 1
	if got := admit(l, rpm, 10); got != 1 {
		t.Fatalf("fallback, 6 s later: admitted %d, want 1", got)
	}
	if got := admit(l, conc, 1); got != 0 {
		t.Fatalf("fallback, max_concurrent share 1 with 1 running through redis: admitted %d, want 0", got)
	}
	running.Settle(0)
	if got := admit(l, conc, 1); got != 1 {
		t.Fatalf("fallback, after the request through redis ended: admitted %d, want 1", got)
	}
}

// TestRedisFallbackSlotCountedOnceAcrossOutages: a request admitted on the
// fallback, whose slot was leased in Redis when Redis came back, counts
// once (not twice) against the next outage's share.
func TestRedisFallbackSlotCountedOnceAcrossOutages(t *testing.T) {
	prefix := redistest.Prefix(t)
	p := redistest.StartProxy(t, redistest.Addr)
	clock := clocktest.New(time.Now())
	c := redistest.NewClient(t, p.Addr)
	l := ratelimit.NewRedis(c, prefix, ratelimit.RedisOptions{Replicas: 2, Now: clock.Now, ProbeInterval: time.Second})
	ctx := context.Background()
	req := ratelimit.Request{Scopes: []ratelimit.Scope{{Key: "key:c", MaxConcurrent: 4}}} // share 2
	p.SetDown(true)
	closePool(t, c)
	running, err := l.Admit(ctx, req)
	if err != nil || !l.Fallback() {
		t.Fatalf("first outage: %v, fallback %v", err, l.Fallback())
	}
	p.SetDown(false)
	clock.Advance(time.Second)
	tk, err := l.Admit(ctx, req) // the probe: redis again, the running slot leased there
	if err != nil || l.Fallback() {
		t.Fatalf("probe: %v, fallback %v", err, l.Fallback())
	}
	tk.Settle(0)
	p.SetDown(true)
	closePool(t, c)
	second, err := l.Admit(ctx, req)
	if err != nil || !l.Fallback() {
		t.Fatalf("second outage, 1 of the share of 2 running: got %v (fallback %v), want admitted", err, l.Fallback())
	}
	if _, err := l.Admit(ctx, req); err == nil {
		t.Fatal("second outage, 2 of 2 running: got admitted, want refused")
	}
	second.Settle(0)
	running.Settle(0)
}
