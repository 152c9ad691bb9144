package tenancy

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/budget"
	"github.com/switchyard-gw/switchyard/internal/redisbacked/redistest"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// spendFlaky fails SpentUSD while down is set.
type spendFlaky struct {
	*flaky
	down atomic.Bool
}

func (s *spendFlaky) SpentUSD(ctx context.Context, q store.SpendQuery) (float64, error) {
	if s.down.Load() {
		return 0, errDown
	}
	return s.flaky.SpentUSD(ctx, q)
}

// TestRedisLostBudgetsWarmedAgain: when Redis loses the budget counters
// (a restart without persistence), the next request is admitted against
// the spend the usage records hold, read again, not against zero. When
// the records cannot be read then, the request is admitted against what
// the counters hold (not refused), and they are warmed again at the key's
// next lookup.
func TestRedisLostBudgetsWarmedAgain(t *testing.T) {
	prefix := redistest.Prefix(t)
	c := redistest.NewClient(t, redistest.Addr)
	f := newFixture(t, false)
	st := &spendFlaky{flaky: f.st}
	f.g = New(Options{Store: st, Budgets: budget.NewRedis(c, prefix, budget.RedisOptions{Now: f.clk.Now}), Now: f.clk.Now})
	ctx := context.Background()
	f.addKey(t, "t1", "sk", func(k *store.Key) { k.BudgetDailyUSD = 1 })
	f.addKey(t, "t2", "sk-2", nil)
	if err := f.st.UpdateTenant(ctx, store.Tenant{ID: "t2", Name: "t2", BudgetMonthlyUSD: 1}); err != nil {
		t.Fatal(err)
	}
	f.spend(t, "sk", 0.5)
	f.spend(t, "sk", 0.3)
	f.spend(t, "sk-2", 0.7)
	lose := func() {
		t.Helper()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
	}
	lose()
	if got := f.admitCode(t, "sk", 0.3); got != budget.ErrorCode {
		t.Errorf("key budget, $0.3 with $0.8 of $1 spent, after Redis lost it: got %q, want %s", got, budget.ErrorCode)
	}
	if got := f.admitCode(t, "sk-2", 0.4); got != budget.ErrorCode {
		t.Errorf("tenant budget, $0.4 with $0.7 of $1 spent, after Redis lost it: got %q, want %s", got, budget.ErrorCode)
	}
	if got := f.admitCode(t, "sk", 0.2); got != "" {
		t.Errorf("$0.2 with $0.8 of $1 spent: got %q, want admitted", got)
	}

	// Another replica, which has seen none of the spend in Redis, finds
	// the counters lost while the usage records cannot be read.
	lose()
	f.g = New(Options{Store: st, Budgets: budget.NewRedis(c, prefix, budget.RedisOptions{Now: f.clk.Now}), Now: f.clk.Now})
	st.down.Store(true)
	if got := f.admitCode(t, "sk", 0.3); got != "" {
		t.Errorf("counters lost and the usage records unreadable: got %q, want admitted against the counters", got)
	}
	st.down.Store(false)
	f.clk.Add(5 * time.Second) // the next lookup warms them again
	if got := f.admitCode(t, "sk", 0.3); got != budget.ErrorCode {
		t.Errorf("$0.3 once the usage records are readable again: got %q, want %s", got, budget.ErrorCode)
	}
	if f.g.budgets.(*budget.Redis).Fallback() {
		t.Error("budgets in fallback, want Redis answering throughout")
	}
}
