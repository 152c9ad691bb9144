package tenancy

import (
	"context"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// TestAdmitRate: a request that costs nothing (a feedback rating) is
// admitted against the rate limits, and refused past them, but not
// against a budget: one whose budget is spent, which Admit refuses even
// at no cost, is still admitted.
func TestAdmitRate(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	f.addKey(t, "t1", "sk-spent", func(k *store.Key) { k.RPM = 3; k.BudgetDailyUSD = 0.00002 })
	p, err := f.g.Authenticate(ctx, bearer("sk-spent"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.g.Admit(ctx, p, "r", 10, 0.00002)
	if err != nil {
		t.Fatal(err)
	}
	a.Settle(10, 10, 0.00003) // overdrawn: more than the budget was spent
	if got := deniedCode(f.g.Admit(ctx, p, "", 0, 0)); got != CodeBudgetExceeded {
		t.Fatalf("Admit at no cost after the budget is spent: got %q, want %s", got, CodeBudgetExceeded)
	}
	// Two of the key's 3 requests a minute are left (a refusal charges
	// nothing).
	for range 2 {
		r, err := f.g.AdmitRate(ctx, p)
		if err != nil {
			t.Fatalf("AdmitRate with the budget spent: got %v, want admitted", err)
		}
		r.Settle(0, 0, 0)
	}
	if got := deniedCode(f.g.AdmitRate(ctx, p)); got != CodeRateLimited {
		t.Fatalf("AdmitRate past the rpm: got %q, want %s", got, CodeRateLimited)
	}
	// Static keys and anonymous callers are not limited.
	if _, err := f.g.AdmitRate(ctx, &gateway.Principal{}); err != nil {
		t.Fatalf("AdmitRate without a key: got %v, want admitted", err)
	}
}
