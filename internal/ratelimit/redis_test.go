package ratelimit_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/logtest"
	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/ratelimit/ratelimittest"
	"github.com/switchyard-gw/switchyard/internal/redisbacked/redistest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, redistest.IgnoreDialRetry())
}

func TestRedisConformance(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, now func() time.Time) ratelimit.Limiter {
		return ratelimit.NewRedis(redistest.NewClient(t, redistest.Addr), redistest.Prefix(t), ratelimit.RedisOptions{Now: now})
	})
}

// admitMany sends n requests per limiter from a few goroutines each and
// returns the number admitted per limiter.
func admitMany(t *testing.T, ls []ratelimit.Limiter, n int, s ratelimit.Scope) []int {
	t.Helper()
	got := make([]atomic.Int64, len(ls))
	var wg sync.WaitGroup
	for i, l := range ls {
		for w := range 10 {
			wg.Go(func() {
				for range n / 10 {
					tk, err := l.Admit(context.Background(), ratelimit.Request{Scopes: []ratelimit.Scope{s}})
					if err == nil {
						got[i].Add(1)
						tk.Settle(0)
					} else if _, ok := err.(*ratelimit.Error); !ok {
						t.Errorf("limiter %d worker %d: got error %v, want nil or *ratelimit.Error", i, w, err)
					}
				}
			})
		}
	}
	wg.Wait()
	out := make([]int, len(ls))
	for i := range got {
		out[i] = int(got[i].Load())
	}
	return out
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// TestRedisSharedAcrossReplicas: three gateway replicas share one Redis and
// 600 requests on a 60-RPM key admit exactly 60 in total.
func TestRedisSharedAcrossReplicas(t *testing.T) {
	prefix := redistest.Prefix(t)
	clock := clocktest.New(time.Now())
	var ls []ratelimit.Limiter
	for range 3 {
		ls = append(ls, ratelimit.NewRedis(redistest.NewClient(t, redistest.Addr), prefix, ratelimit.RedisOptions{Replicas: 3, Now: clock.Now}))
	}
	per := admitMany(t, ls, 200, ratelimit.Scope{Key: "key:shared", RPM: 60})
	if got := sum(per); got != 60 {
		t.Fatalf("admitted across replicas: got %d (%v), want 60", got, per)
	}
	for i, l := range ls {
		if l.(*ratelimit.Redis).Fallback() {
			t.Fatalf("limiter %d: got fallback, want redis", i)
		}
	}
}

// TestRedisUnreachableFallback: with Redis unreachable each of three replicas
// admits its share ceil(60/3) = 20, so the fleet admits 60, not unlimited.
func TestRedisUnreachableFallback(t *testing.T) {
	addr := redistest.ClosedAddr(t)
	clock := clocktest.New(time.Now())
	var logs logtest.Buffer
	var ls []ratelimit.Limiter
	for range 3 {
		ls = append(ls, ratelimit.NewRedis(redistest.NewClient(t, addr), "swtest:", ratelimit.RedisOptions{
			Replicas: 3, Now: clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		}))
	}
	per := admitMany(t, ls, 200, ratelimit.Scope{Key: "key:shared", RPM: 60, TPM: 6000, Tokens: 10})
	for i, got := range per {
		if got != 20 {
			t.Fatalf("limiter %d admitted: got %d, want 20 (all: %v)", i, got, per)
		}
		if !ls[i].(*ratelimit.Redis).Fallback() {
			t.Fatalf("limiter %d: got no fallback, want fallback", i)
		}
	}
	if got := strings.Count(logs.String(), "redis unavailable"); got != 3 {
		t.Fatalf("fallback log lines: got %d, want 3 (one per limiter)\n%s", got, logs.String())
	}
}

// TestRedisFallbackRecovers drives a limiter through Redis → outage →
// Redis via a loopback proxy that can refuse connections.
func TestRedisFallbackRecovers(t *testing.T) {
	prefix := redistest.Prefix(t)
	p := redistest.StartProxy(t, redistest.Addr)
	clock := clocktest.New(time.Now())
	var logs logtest.Buffer
	c := redistest.NewClient(t, p.Addr)
	l := ratelimit.NewRedis(c, prefix, ratelimit.RedisOptions{
		Replicas: 2, Now: clock.Now, ProbeInterval: time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	s := ratelimit.Scope{Key: "key:r", RPM: 10}
	admitN := func(n int) int {
		ok := 0
		for range n {
			if tk, err := l.Admit(context.Background(), ratelimit.Request{Scopes: []ratelimit.Scope{s}}); err == nil {
				tk.Settle(0)
				ok++
			}
		}
		return ok
	}
	if got := admitN(4); got != 4 || l.Fallback() {
		t.Fatalf("via redis: got %d admitted, fallback %v; want 4, false", got, l.Fallback())
	}
	p.SetDown(true)
	closePool(t, c)
	if got := admitN(20); got != 3 || !l.Fallback() {
		t.Fatalf("during outage: got %d admitted, fallback %v; want 3 (half the 6 left in redis), true", got, l.Fallback())
	}
	p.SetDown(false)
	if got := admitN(3); got != 0 || !l.Fallback() {
		t.Fatalf("before probe interval: got %d admitted, fallback %v; want 0, true", got, l.Fallback())
	}
	clock.Advance(time.Second) // probe due; redis bucket refilled by 10/60
	if got := admitN(20); got != 6 || l.Fallback() {
		t.Fatalf("after recovery: got %d admitted, fallback %v; want 6 (redis state kept), false", got, l.Fallback())
	}
	if !strings.Contains(logs.String(), "redis available again") {
		t.Fatalf("logs: got %q, want a recovery line", logs.String())
	}
}

// closePool closes the idle pooled connections of c by forcing them to be
// discarded: a PING through a dead proxy fails and the pool drops the conn.
func closePool(t *testing.T, c *redis.Client) {
	t.Helper()
	for range 8 {
		_ = c.Ping(context.Background()).Err()
	}
}

func TestRedisLeaseExpires(t *testing.T) {
	clock := clocktest.New(time.Now())
	l := ratelimit.NewRedis(redistest.NewClient(t, redistest.Addr), redistest.Prefix(t), ratelimit.RedisOptions{Now: clock.Now, LeaseTTL: time.Minute})
	s := ratelimit.Request{Scopes: []ratelimit.Scope{{Key: "tenant:t", MaxConcurrent: 1}}}
	if _, err := l.Admit(context.Background(), s); err != nil { // never settled: its replica "died"
		t.Fatalf("first: got %v, want admitted", err)
	}
	if _, err := l.Admit(context.Background(), s); err == nil {
		t.Fatal("second: got admitted, want concurrency rejection")
	}
	clock.Advance(time.Minute + time.Millisecond)
	tk, err := l.Admit(context.Background(), s)
	if err != nil {
		t.Fatalf("after lease expiry: got %v, want admitted", err)
	}
	tk.Settle(0)
}

// TestRedisSettleAfterOutageFreesTheSlot: a concurrency slot whose settle
// failed while Redis was away is freed once Redis answers again, not held
// until its lease expires.
func TestRedisSettleAfterOutageFreesTheSlot(t *testing.T) {
	prefix := redistest.Prefix(t)
	p := redistest.StartProxy(t, redistest.Addr)
	c := redistest.NewClient(t, p.Addr)
	l := ratelimit.NewRedis(c, prefix, ratelimit.RedisOptions{Replicas: 2, ProbeInterval: 10 * time.Millisecond})
	other := ratelimit.NewRedis(redistest.NewClient(t, redistest.Addr), prefix, ratelimit.RedisOptions{Replicas: 2})
	ctx := context.Background()
	req := ratelimit.Request{Scopes: []ratelimit.Scope{{Key: "key:c", MaxConcurrent: 1}}}
	tk, err := l.Admit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	p.SetDown(true)
	closePool(t, c)
	tk.Settle(0) // fails: deferred
	if _, err := other.Admit(ctx, req); err == nil {
		t.Fatal("other replica admitted while the slot is held")
	}
	p.SetDown(false)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { l.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	clocktest.WaitFor(t, "the deferred settle to land", func() bool { return l.Deferred() == 0 })
	tk2, err := other.Admit(ctx, req)
	if err != nil {
		t.Fatalf("after redis came back: %v, want the slot free", err)
	}
	tk2.Settle(0)
}
