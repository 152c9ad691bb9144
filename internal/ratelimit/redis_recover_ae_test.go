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
