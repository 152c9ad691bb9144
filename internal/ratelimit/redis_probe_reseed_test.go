package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/redisbacked/redistest"
)

// TestRedisDownProbesDoNotRefill: while Redis stays unreachable, each
// probe (one a ProbeInterval) must not count as Redis answering: it used
// to, when the fallback had no reservation to register in Redis (the
// recovery hook then needed no Redis call and succeeded), and every probe
// started the fallback afresh from a full share, so a 60-RPM key over 3
// replicas got 20 more requests a second on each replica instead of 20 a
// minute (found by TestLimitsAcrossReplicas on a loaded machine).
func TestRedisDownProbesDoNotRefill(t *testing.T) {
	addr := redistest.ClosedAddr(t)
	clock := clocktest.New(time.Now())
	l := ratelimit.NewRedis(redistest.NewClient(t, addr), "swtest:", ratelimit.RedisOptions{
		Replicas: 3, Now: clock.Now, ProbeInterval: time.Second,
	})
	req := ratelimit.Request{Scopes: []ratelimit.Scope{{Key: "key:probed", RPM: 60}}}
	ctx := context.Background()
	admitted := 0
	// 10 seconds of requests, 50 a second, each second's first one a probe.
	for range 10 {
		for range 50 {
			if tk, err := l.Admit(ctx, req); err == nil {
				tk.Settle(0)
				admitted++
			}
		}
		clock.Advance(time.Second)
	}
	// The replica's share is 20 a minute: a full 20, then 20/60 a second.
	if most := 20 + 10/3 + 1; admitted > most || admitted < 20 {
		t.Fatalf("admitted %d over 10 s with redis down, want 20 to %d", admitted, most)
	}
	if !l.Fallback() {
		t.Fatal("want the fallback in force")
	}
}
