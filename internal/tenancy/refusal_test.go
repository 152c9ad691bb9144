package tenancy

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/budget"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// admitCode is the refusal code of a $costUSD request of key ("" when
// admitted; the admission is then settled at no cost).
func (f *fixture) admitCode(t *testing.T, key string, costUSD float64) string {
	t.Helper()
	ctx := context.Background()
	p, err := f.g.Authenticate(ctx, bearer(key))
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.g.Admit(ctx, p, "r", 1, costUSD)
	if err == nil {
		a.Settle(0, 0, 0)
	}
	return codeOf(err)
}

// TestRefusalChargesNothing: a request its budget refuses takes no
// request from the key's rpm (nor tokens from its tpm), and one a rate
// limit refuses holds nothing of its budget, as the docs promise ("a
// refusal charges nothing").
func TestRefusalChargesNothing(t *testing.T) {
	f := newFixture(t, false)
	f.addKey(t, "t1", "sk", func(k *store.Key) { k.RPM = 2; k.TPM = 2; k.BudgetDailyUSD = 1 })
	if got := f.admitCode(t, "sk", 1.5); got != budget.ErrorCode {
		t.Fatalf("$1.5 of a $1 budget: got %q, want %s", got, budget.ErrorCode)
	}
	// Both requests, and both tokens (1 each), are left.
	for i := range 2 {
		if got := f.admitCode(t, "sk", 0.5); got != "" {
			t.Fatalf("request %d after the budget's refusal: got %q, want admitted", i, got)
		}
	}
	if got := f.admitCode(t, "sk", 0.5); got != CodeRateLimited {
		t.Fatalf("third request a minute: got %q, want %s", got, CodeRateLimited)
	}
	// Refused by the rpm, it held nothing of the budget: once the bucket
	// has room again, the whole $1 is there.
	f.clk.Add(time.Minute)
	if got := f.admitCode(t, "sk", 1); got != "" {
		t.Errorf("$1 of the $1 budget after the rpm's refusal: got %q, want admitted", got)
	}
}
