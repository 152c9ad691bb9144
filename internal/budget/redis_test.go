package budget_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
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

// TestRedisLostCountersMustBeSeeded: a scope whose caller seeds it
// (Seeded) is not reserved against counters Redis lost (deleted here, as
// a restart without persistence does), even when a settle has recreated
// one since, nor against a period's counter that Seed has not set yet:
// Reserve returns a *SeedError naming them and holds nothing; once
// seeded, the spend counts again. Without Seeded the counters are taken
// as they are.
func TestRedisLostCountersMustBeSeeded(t *testing.T) {
	prefix := redistest.Prefix(t)
	c := redistest.NewClient(t, redistest.Addr)
	clock := clocktest.New(budgettest.Start)
	b := budget.NewRedis(c, prefix, budget.RedisOptions{Now: clock.Now})
	ctx := context.Background()
	s := []budget.BudgetScope{{Key: "tenant:t", DailyUSD: 1, MonthlyUSD: 10, Seeded: true}, {Key: "key:k", Seeded: true}}
	seed := func(p budget.Period, usd float64) {
		t.Helper()
		if err := b.Seed(ctx, "tenant:t", p, usd); err != nil {
			t.Fatalf("Seed %s: %v", p, err)
		}
	}
	wantSeed := func(what string, want ...budget.ScopePeriod) {
		t.Helper()
		var se *budget.SeedError
		if _, err := b.Reserve(ctx, s, 0.1); !errors.As(err, &se) || !slices.Equal(se.Need, want) {
			t.Fatalf("%s: got %v, want a *SeedError for %v", what, err, want)
		}
	}
	wantSeed("never seeded", budget.ScopePeriod{Scope: "tenant:t", Period: budget.Daily}, budget.ScopePeriod{Scope: "tenant:t", Period: budget.Monthly})
	seed(budget.Daily, 0.5)
	seed(budget.Monthly, 0.5)
	r, err := b.Reserve(ctx, s, 0.3)
	if err != nil {
		t.Fatalf("seeded: got %v, want admitted", err)
	}
	r.Settle(0.3) // 0.8 spent
	held, err := b.Reserve(ctx, s, 0.1)
	if err != nil {
		t.Fatal(err)
	}

	lose(t, c, prefix)
	held.Settle(0.1) // recreates the hashes, with this settle's spend only
	wantSeed("counters lost", budget.ScopePeriod{Scope: "tenant:t", Period: budget.Daily}, budget.ScopePeriod{Scope: "tenant:t", Period: budget.Monthly})
	// A reservation without Seeded takes the counters as they are.
	unseeded := []budget.BudgetScope{{Key: "tenant:t", DailyUSD: 1}}
	r, err = b.Reserve(ctx, unseeded, 0.85)
	if err != nil {
		t.Fatalf("without Seeded: got %v, want admitted against the 0.1 left in Redis", err)
	}
	r.Settle(0)
	seed(budget.Daily, 0.9) // what the usage records say
	seed(budget.Monthly, 0.9)
	var be *budget.Error
	if _, err := b.Reserve(ctx, s, 0.2); !errors.As(err, &be) || be.Spent < 0.899 || be.Spent > 0.901 {
		t.Fatalf("after seeding again: got %v, want refused with 0.9 spent", err)
	}
	r, err = b.Reserve(ctx, s, 0.1)
	if err != nil {
		t.Fatalf("after seeding again, 0.1 of the 0.1 left: %v", err)
	}
	r.Settle(0.1)

	// The next day's counter is new: it must be seeded; the month's is not.
	clock.Advance(24 * time.Hour)
	wantSeed("next day", budget.ScopePeriod{Scope: "tenant:t", Period: budget.Daily})
	seed(budget.Daily, 0)
	if _, err := b.Reserve(ctx, s, 0.5); err != nil {
		t.Fatalf("next day, seeded: got %v, want admitted", err)
	}
}

// TestRedisSeedKeepsSpendLastSeen: seeding a counter Redis lost raises it
// to the spend this replica last saw in it when the total given (from
// usage records not all written yet) is less.
func TestRedisSeedKeepsSpendLastSeen(t *testing.T) {
	prefix := redistest.Prefix(t)
	c := redistest.NewClient(t, redistest.Addr)
	clock := clocktest.New(budgettest.Start)
	b := budget.NewRedis(c, prefix, budget.RedisOptions{Now: clock.Now})
	ctx := context.Background()
	s := []budget.BudgetScope{{Key: "tenant:t", DailyUSD: 1}}
	r, err := b.Reserve(ctx, s, 0.6)
	if err != nil {
		t.Fatal(err)
	}
	r.Settle(0.6)
	r, err = b.Reserve(ctx, s, 0.1) // sees 0.6 spent
	if err != nil {
		t.Fatal(err)
	}
	r.Settle(0)
	lose(t, c, prefix)
	if err := b.Seed(ctx, "tenant:t", budget.Daily, 0.2); err != nil {
		t.Fatal(err)
	}
	var be *budget.Error
	if _, err := b.Reserve(ctx, s, 0.5); !errors.As(err, &be) || be.Spent < 0.599 || be.Spent > 0.601 {
		t.Fatalf("after seeding 0.2: got %v, want refused with the 0.6 last seen spent", err)
	}
}

// lose deletes every key under prefix, as Redis restarted without
// persistence would have lost them.
func lose(t *testing.T, c *redis.Client, prefix string) {
	t.Helper()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestRedisLargeAmounts: holds and spend of $1e8 or more (1e17 nano-dollars
// and up) are counted in Redis, not refused by HINCRBY (a Lua number that
// large is written with an exponent) and so handed to the local fallback;
// another replica sees them.
func TestRedisLargeAmounts(t *testing.T) {
	prefix := redistest.Prefix(t)
	clock := clocktest.New(budgettest.Start)
	a := budget.NewRedis(redistest.NewClient(t, redistest.Addr), prefix, budget.RedisOptions{Now: clock.Now})
	b := budget.NewRedis(redistest.NewClient(t, redistest.Addr), prefix, budget.RedisOptions{Now: clock.Now})
	s := []budget.BudgetScope{{Key: "tenant:t", DailyUSD: budget.MaxUSD}}
	ctx := context.Background()
	r, err := a.Reserve(ctx, s, 6e8)
	if err != nil {
		t.Fatalf("reserve $6e8: got %v, want admitted", err)
	}
	var berr *budget.Error
	if _, err := b.Reserve(ctx, s, 5e8); !errors.As(err, &berr) || berr.Reserved != 6e8 {
		t.Fatalf("the other replica: got %v, want refused with $6e8 held", err)
	}
	r.Settle(3e8)
	if _, err := b.Reserve(ctx, s, 8e8); !errors.As(err, &berr) || berr.Spent != 3e8 || berr.Reserved != 0 {
		t.Fatalf("after the settle: got %v, want refused with $3e8 spent and nothing held", err)
	}
	if a.Fallback() || b.Fallback() || a.Deferred() != 0 {
		t.Fatalf("fallback %v/%v, deferred %d: want Redis answering", a.Fallback(), b.Fallback(), a.Deferred())
	}
}

// TestRedisTooBigHoldsNothing: an estimate too big to count, against a
// spent budget, is refused in Redis too, and holds nothing there.
func TestRedisTooBigHoldsNothing(t *testing.T) {
	prefix := redistest.Prefix(t)
	clock := clocktest.New(budgettest.Start)
	a := budget.NewRedis(redistest.NewClient(t, redistest.Addr), prefix, budget.RedisOptions{Now: clock.Now})
	s := []budget.BudgetScope{{Key: "tenant:t", DailyUSD: 0.01}}
	ctx := context.Background()
	var berr *budget.Error
	if _, err := a.Reserve(ctx, s, 1.3e11); !errors.As(err, &berr) || berr.Reserved != 0 {
		t.Fatalf("reserve $1.3e11: got %v, want refused", err)
	}
	if _, err := a.Reserve(ctx, s, 0.06); !errors.As(err, &berr) || berr.Reserved != 0 {
		t.Fatalf("reserve $0.06 after it: got %v, want refused with nothing held", err)
	}
	if a.Fallback() {
		t.Fatal("fallback: want Redis answering")
	}
}
