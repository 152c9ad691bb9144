package budget_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-gw/switchyard/internal/budget"
	"github.com/switchyard-gw/switchyard/internal/budget/budgettest"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/redisbacked/redistest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, redistest.IgnoreDialRetry())
}

func TestRedisConformance(t *testing.T) {
	budgettest.Run(t, func(t *testing.T, now func() time.Time) budget.Budgets {
		return budget.NewRedis(redistest.NewClient(t, redistest.Addr), redistest.Prefix(t), budget.RedisOptions{Now: now})
	})
}

// TestRedisSharedAcrossReplicas: reservations through three replicas share
// one budget.
func TestRedisSharedAcrossReplicas(t *testing.T) {
	prefix := redistest.Prefix(t)
	clock := clocktest.New(budgettest.Start)
	var bs []budget.Budgets
	for range 3 {
		bs = append(bs, budget.NewRedis(redistest.NewClient(t, redistest.Addr), prefix, budget.RedisOptions{Replicas: 3, Now: clock.Now}))
	}
	s := []budget.BudgetScope{{Key: "tenant:t", DailyUSD: 1}}
	ctx := context.Background()
	for i, b := range bs {
		r, err := b.Reserve(ctx, s, 0.3)
		if err != nil {
			t.Fatalf("replica %d: got %v, want admitted", i, err)
		}
		r.Settle(0.3)
	}
	var berr *budget.Error
	if _, err := bs[0].Reserve(ctx, s, 0.2); !errors.As(err, &berr) {
		t.Fatalf("fourth reserve: got %v, want *budget.Error", err)
	}
	if berr.Spent < 0.9-1e-9 || berr.Spent > 0.9+1e-9 {
		t.Fatalf("spent: got %v, want 0.9", berr.Spent)
	}
}

func TestRedisHoldExpires(t *testing.T) {
	clock := clocktest.New(budgettest.Start)
	b := budget.NewRedis(redistest.NewClient(t, redistest.Addr), redistest.Prefix(t), budget.RedisOptions{Now: clock.Now, HoldTTL: time.Minute})
	s := []budget.BudgetScope{{Key: "tenant:t", DailyUSD: 1}}
	ctx := context.Background()
	if _, err := b.Reserve(ctx, s, 0.6); err != nil { // never settled: its replica "died"
		t.Fatalf("first: got %v, want admitted", err)
	}
	if _, err := b.Reserve(ctx, s, 0.6); err == nil {
		t.Fatal("second: got admitted, want rejected")
	}
	clock.Advance(time.Minute + time.Millisecond)
	r, err := b.Reserve(ctx, s, 0.6)
	if err != nil {
		t.Fatalf("after hold expiry: got %v, want admitted", err)
	}
	r.Settle(0.6)
}

// TestRedisUnreachableFallback: with Redis unreachable each of two replicas
// enforces half the budget, never none.
func TestRedisUnreachableFallback(t *testing.T) {
	clock := clocktest.New(budgettest.Start)
	b := budget.NewRedis(redistest.NewClient(t, redistest.ClosedAddr(t)), "swtest:", budget.RedisOptions{Replicas: 2, Now: clock.Now})
	ctx := context.Background()
	if err := b.Seed(ctx, "tenant:t", budget.Daily, 0.4); err == nil {
		t.Fatal("Seed with redis down: got nil, want error")
	}
	s := []budget.BudgetScope{{Key: "tenant:t", DailyUSD: 1, MonthlyUSD: 100}}
	admitted := 0
	for range 20 {
		if r, err := b.Reserve(ctx, s, 0.1); err == nil {
			admitted++
			r.Settle(0.1)
		}
	}
	// Share is 0.5; the failed Seed still seeded the local share 0.2.
	if admitted != 3 {
		t.Fatalf("admitted in fallback: got %d, want 3 (0.5 share - 0.2 seeded)", admitted)
	}
	if !b.Fallback() {
		t.Fatal("got no fallback, want fallback")
	}
}

// TestRedisOutageSpendReachesRedis: a settle that fails while Redis is
// away, and spend counted locally during the outage, are added to Redis
// once it answers again (and the hold is released), so the other replicas
// count them; the replica leaves the fallback without waiting for a
// request.
func TestRedisOutageSpendReachesRedis(t *testing.T) {
	prefix := redistest.Prefix(t)
	p := redistest.StartProxy(t, redistest.Addr)
	clock := clocktest.New(budgettest.Start)
	c := redistest.NewClient(t, p.Addr)
	b := budget.NewRedis(c, prefix, budget.RedisOptions{Replicas: 2, Now: clock.Now, ProbeInterval: 10 * time.Millisecond})
	other := budget.NewRedis(redistest.NewClient(t, redistest.Addr), prefix, budget.RedisOptions{Replicas: 2, Now: clock.Now})
	ctx := context.Background()
	s := []budget.BudgetScope{{Key: "key:k", DailyUSD: 1}}

	held, err := b.Reserve(ctx, s, 0.3) // through Redis
	if err != nil || b.Fallback() {
		t.Fatalf("reserve via redis: %v, fallback %v", err, b.Fallback())
	}
	p.SetDown(true)
	for range 8 {
		_ = c.Ping(ctx).Err() // empty the pool through the dead proxy
	}
	held.Settle(0.2) // fails: deferred
	local, err := b.Reserve(ctx, s, 0.05)
	if err != nil || !b.Fallback() {
		t.Fatalf("reserve during the outage: %v, fallback %v", err, b.Fallback())
	}
	local.Settle(0.1) // counted locally, and deferred for Redis

	// Redis holds 0.3 reserved until the settle lands: 0.8 more is too much.
	if _, err := other.Reserve(ctx, s, 0.8); err == nil {
		t.Fatal("other replica: 0.8 admitted while 0.3 is held")
	}
	p.SetDown(false)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { b.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	clocktest.WaitFor(t, "the deferred settles to land", func() bool { return !b.Fallback() && b.Deferred() == 0 })

	// Spent 0.2 + 0.1, nothing held: 0.7 fits, 0.71 does not.
	r, err := other.Reserve(ctx, s, 0.7)
	if err != nil {
		t.Fatalf("other replica, 0.7 of the 0.7 left: %v", err)
	}
	r.Settle(0)
	var be *budget.Error
	if _, err := other.Reserve(ctx, s, 0.71); !errors.As(err, &be) || be.Spent < 0.299 || be.Spent > 0.301 {
		t.Errorf("other replica, 0.71: got %v, want refused with 0.3 spent", err)
	}
}
