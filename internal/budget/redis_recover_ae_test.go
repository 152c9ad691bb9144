package budget_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/budget"
	"github.com/switchyard-gw/switchyard/internal/budget/budgettest"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/redisbacked/redistest"
)

// TestRedisFallbackHoldsRegisteredOnRecovery: a reservation the local
// fallback admitted during an outage, still running when Redis answers
// again (with its data), is held in Redis before the replica admits from
// Redis again, so no replica admits the whole budget beside it; its
// settle releases the hold and adds the spend once. Recovery by a request's
// probe and by Run (found by audit AE, AE3: a $0.24 budget ended at $0.372).
func TestRedisFallbackHoldsRegisteredOnRecovery(t *testing.T) {
	for _, viaRun := range []bool{false, true} {
		name := "probe"
		if viaRun {
			name = "run"
		}
		t.Run(name, func(t *testing.T) {
			prefix := redistest.Prefix(t)
			p := redistest.StartProxy(t, redistest.Addr)
			clock := clocktest.New(budgettest.Start)
			c := redistest.NewClient(t, p.Addr)
			b := budget.NewRedis(c, prefix, budget.RedisOptions{Replicas: 2, Now: clock.Now, ProbeInterval: time.Second})
			other := budget.NewRedis(redistest.NewClient(t, redistest.Addr), prefix, budget.RedisOptions{Replicas: 2, Now: clock.Now})
			ctx := context.Background()
			s := []budget.BudgetScope{{Key: "key:k", DailyUSD: 1}}

			p.SetDown(true)
			for range 8 {
				_ = c.Ping(ctx).Err()
			}
			running, err := b.Reserve(ctx, s, 0.4) // on the fallback's 0.5 share
			if err != nil || !b.Fallback() {
				t.Fatalf("reserve during the outage: %v, fallback %v", err, b.Fallback())
			}
			p.SetDown(false)
			if viaRun {
				rctx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { b.Run(rctx); close(done) }()
				defer func() { cancel(); <-done }()
				clocktest.WaitFor(t, "the replica to leave the fallback", func() bool { return !b.Fallback() })
			} else {
				clock.Advance(time.Second)
				r, err := b.Reserve(ctx, s, 0.6) // the probe: 0.4 is held, 0.6 fits
				if err != nil || b.Fallback() {
					t.Fatalf("probe reserve: %v, fallback %v; want admitted from redis", err, b.Fallback())
				}
				r.Settle(0)
			}
			var be *budget.Error
			if _, err := other.Reserve(ctx, s, 0.7); !errors.As(err, &be) || be.Reserved < 0.399 || be.Reserved > 0.401 {
				t.Fatalf("other replica, 0.7 while 0.4 runs: got %v, want refused with 0.4 held", err)
			}
			running.Settle(0.3)
			clocktest.WaitFor(t, "the settle to land", func() bool { return b.Deferred() == 0 })
			r, err := other.Reserve(ctx, s, 0.7)
			if err != nil {
				t.Fatalf("other replica, 0.7 of the 0.7 left: %v", err)
			}
			r.Settle(0)
			if _, err := other.Reserve(ctx, s, 0.71); !errors.As(err, &be) || be.Spent < 0.299 || be.Spent > 0.301 || be.Reserved != 0 {
				t.Fatalf("other replica, 0.71: got %v, want refused with 0.3 spent and nothing held", err)
			}
		})
	}
}

// TestRedisFallbackStartsFromFleetSpend: a replica's fallback starts from
// the spend (and holds) the fleet had in Redis, read by Run while Redis
// answers, not from what this replica last saw in its own reservations,
// so the replicas' shares together stay within the budget (found by audit
// AE, AE1: $0.48 of $0.60 spent through replica A, then replica B took a
// full $0.30 share).
func TestRedisFallbackStartsFromFleetSpend(t *testing.T) {
	prefix := redistest.Prefix(t)
	p := redistest.StartProxy(t, redistest.Addr)
	clock := clocktest.New(budgettest.Start)
	c := redistest.NewClient(t, p.Addr)
	b := budget.NewRedis(c, prefix, budget.RedisOptions{Replicas: 2, Now: clock.Now, ProbeInterval: 10 * time.Millisecond})
	a := budget.NewRedis(redistest.NewClient(t, redistest.Addr), prefix, budget.RedisOptions{Replicas: 2, Now: clock.Now})
	ctx := context.Background()
	s := []budget.BudgetScope{{Key: "key:k", DailyUSD: 0.6}}

	r, err := b.Reserve(ctx, s, 0.01) // b knows the key: it saw $0 spent
	if err != nil {
		t.Fatal(err)
	}
	r.Settle(0.01)
	r, err = a.Reserve(ctx, s, 0.37)
	if err != nil {
		t.Fatal(err)
	}
	r.Settle(0.37)
	inFlight, err := a.Reserve(ctx, s, 0.1) // still running when Redis fails
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { b.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	clocktest.WaitFor(t, "b to read the fleet's spend", func() bool { return b.SeenUSD("key:k") > 0.479 })

	p.SetDown(true)
	for range 8 {
		_ = c.Ping(ctx).Err()
	}
	// 0.38 spent and 0.1 held of 0.6: b's share of what is left is 0.06.
	r, err = b.Reserve(ctx, s, 0.05)
	if err != nil || !b.Fallback() {
		t.Fatalf("fallback, 0.05 of the 0.06 share left: %v, fallback %v", err, b.Fallback())
	}
	r.Settle(0.05)
	var be *budget.Error
	if _, err := b.Reserve(ctx, s, 0.02); !errors.As(err, &be) {
		t.Fatalf("fallback, 0.02 more: got %v, want refused (0.48 of 0.6 spent or held fleet-wide)", err)
	}
	inFlight.Settle(0.1)
}
