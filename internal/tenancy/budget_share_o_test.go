package tenancy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/budget"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/redisbacked/redistest"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// TestBudgetShareRefusalIsTemporary: while Redis is unreachable, a replica
// of two enforces half of each budget. A request that fits the key's real
// budget but not that share is refused for the outage: retryable
// (Retry-After, so no X-Should-Retry: false), naming the real budget and
// the share, not as too big for a budget the key does not have. One too
// big for the real budget is still told so, against the real budget.
func TestBudgetShareRefusalIsTemporary(t *testing.T) {
	f := newFixture(t, false)
	c := redistest.NewClient(t, redistest.ClosedAddr(t))
	f.g = New(Options{Store: f.st, Budgets: budget.NewRedis(c, "swtest:share:", budget.RedisOptions{Replicas: 2, Now: f.clk.Now}), Now: f.clk.Now})
	f.addKey(t, "t1", "sk", func(k *store.Key) { k.BudgetDailyUSD = 0.1 })
	ctx := context.Background()
	p, err := f.g.Authenticate(ctx, bearer("sk"))
	if err != nil {
		t.Fatal(err)
	}
	var d *gateway.Denied
	_, err = f.g.Admit(ctx, p, "r", 1, 0.07)
	if !errors.As(err, &d) || d.Code != CodeBudgetExceeded || d.RetryAfter != time.Second ||
		!strings.Contains(d.Message, "share ($0.05)") || !strings.Contains(d.Message, "API key ") || !strings.Contains(d.Message, "($0.10)") ||
		!strings.Contains(d.Message, "worst-case cost ($0.07) is more than that share") {
		t.Fatalf("$0.07 against a $0.10 budget with a $0.05 share: got %+v, want a retryable budget_exceeded naming $0.10 and the $0.05 share", err)
	}
	a, err := f.g.Admit(ctx, p, "r", 1, 0.04)
	if err != nil {
		t.Fatalf("$0.04 within the share: %v", err)
	}
	_, err = f.g.Admit(ctx, p, "r", 1, 0.02)
	if !errors.As(err, &d) || d.RetryAfter != time.Second || !strings.Contains(d.Message, "that share has $0.01 left") {
		t.Errorf("$0.02 with $0.01 of the share left: got %+v, want a retryable refusal saying what is left of the share", err)
	}
	a.Settle(1, 1, 0.05)
	_, err = f.g.Admit(ctx, p, "r", 1, 0.01)
	if !errors.As(err, &d) || d.RetryAfter != time.Second || !strings.Contains(d.Message, "that share is spent") {
		t.Errorf("$0.01 with the share spent: got %+v, want a retryable refusal, not one until midnight", err)
	}
	_, err = f.g.Admit(ctx, p, "r", 1, 0.2)
	if !errors.As(err, &d) || d.RetryAfter != 0 || !strings.Contains(d.Message, "worst-case cost ($0.20, ") || !strings.Contains(d.Message, "daily budget of API key") ||
		!strings.Contains(d.Message, "($0.10); ask for less") {
		t.Errorf("$0.20 against the $0.10 budget: got %+v, want too big for the real budget, no Retry-After", err)
	}
}
