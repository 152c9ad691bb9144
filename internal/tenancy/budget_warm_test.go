package tenancy

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/budget"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// spend admits a request of key at costUSD, settles it at that cost and
// writes its usage record, as the gateway does; it fails the test when
// the request is refused.
func (f *fixture) spend(t *testing.T, key string, costUSD float64) {
	t.Helper()
	ctx := context.Background()
	p, err := f.g.Authenticate(ctx, bearer(key))
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.g.Admit(ctx, p, "r", 1, costUSD)
	if err != nil {
		t.Fatalf("$%v request of %s: got %v, want admitted", costUSD, key, err)
	}
	a.Settle(1, 1, costUSD)
	f.record(t, p, costUSD)
}

// record writes a usage record of costUSD for p, now.
func (f *fixture) record(t *testing.T, p *gateway.Principal, costUSD float64) {
	t.Helper()
	rec := store.UsageRecord{RequestID: store.NewID("req"), Time: f.clk.Now(), TenantID: p.TenantID, KeyID: p.KeyID, Status: 200, CostUSD: costUSD}
	if err := f.st.InsertUsage(context.Background(), []store.UsageRecord{rec}); err != nil {
		t.Fatal(err)
	}
}

// TestBudgetSetAgainCountsSpendMeanwhile: a budget removed (0, unlimited)
// and set again, changed in the store as another replica's admin API does,
// counts the spend made while it was removed, which charged no budget
// counter: the counters are warmed from the usage records again when the
// key's lookup sees the budget come back.
func TestBudgetSetAgainCountsSpendMeanwhile(t *testing.T) {
	for _, scope := range []string{"key", "tenant"} {
		t.Run(scope, func(t *testing.T) {
			f := newFixture(t, false)
			ctx := context.Background()
			id := f.addKey(t, "t1", "sk", nil)
			setBudget := func(usd float64) {
				t.Helper()
				var err error
				if scope == "key" {
					var k store.Key
					if k, err = f.st.GetKey(ctx, id); err == nil {
						k.BudgetDailyUSD = usd
						err = f.st.UpdateKey(ctx, k)
					}
				} else {
					err = f.st.UpdateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", BudgetDailyUSD: usd})
				}
				if err != nil {
					t.Fatal(err)
				}
				f.clk.Add(5 * time.Second) // the key cache's TTL
			}
			setBudget(1)
			f.spend(t, "sk", 0.3)
			setBudget(0)
			f.spend(t, "sk", 0.5) // unlimited: no counter charged
			setBudget(1)
			// Spent 0.8 today: 0.3 more is over the budget, 0.2 is not.
			if got := f.admitCode(t, "sk", 0.3); got != budget.ErrorCode {
				t.Errorf("$0.3 with $0.8 of $1 spent: got %q, want %s", got, budget.ErrorCode)
			}
			if got := f.admitCode(t, "sk", 0.2); got != "" {
				t.Errorf("$0.2 with $0.8 of $1 spent: got %q, want admitted", got)
			}
		})
	}
}

// TestTenantBudgetSeenByOneKeyChargesTheOthers: a tenant budget set while
// another key of the tenant is cached with the tenant's limits of before
// (no budget) still counts that key's spend: its requests charge the
// tenant's counters from the moment the budget was read, not one key
// cache TTL later.
func TestTenantBudgetSeenByOneKeyChargesTheOthers(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	f.addKey(t, "t1", "sk-a", nil)
	f.addKey(t, "t1", "sk-b", nil)
	if _, err := f.g.Authenticate(ctx, bearer("sk-a")); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(3 * time.Second)
	if _, err := f.g.Authenticate(ctx, bearer("sk-b")); err != nil {
		t.Fatal(err)
	}
	if err := f.st.UpdateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", BudgetDailyUSD: 1}); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(2 * time.Second) // sk-a's entry expires, sk-b's has 3s left
	if got := f.admitCode(t, "sk-a", 0); got != "" {
		t.Fatalf("sk-a: got %q, want admitted", got)
	}
	p, err := f.g.Authenticate(ctx, bearer("sk-b"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.g.Admit(ctx, p, "r", 1, 0.6)
	if err != nil {
		t.Fatal(err)
	}
	a.Settle(1, 1, 0.6) // its record not written yet: only the counter has it
	if got := f.admitCode(t, "sk-a", 0.6); got != budget.ErrorCode {
		t.Errorf("sk-a, $0.6 after sk-b spent $0.6 of the tenant's $1: got %q, want %s", got, budget.ErrorCode)
	}
}
