package tenancy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// TestBudgetHeldInFullByRequestsInFlight: when the requests in flight
// hold all that is left of a budget, a request they crowd out is told to
// retry in a second (their end makes room), not that the budget is spent
// until the period resets; once they settle, it is admitted. A request
// that would not fit even if every hold were given back is told what is
// left, until the reset.
func TestBudgetHeldInFullByRequestsInFlight(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	f.addKey(t, "t1", "sk", func(k *store.Key) { k.BudgetDailyUSD = 0.1 })
	p, err := f.g.Authenticate(ctx, bearer("sk"))
	if err != nil {
		t.Fatal(err)
	}
	var held []gateway.Admission
	for i := range 2 {
		a, err := f.g.Admit(ctx, p, "r", 1, 0.05)
		if err != nil {
			t.Fatalf("request %d of $0.05: %v", i, err)
		}
		held = append(held, a)
	}
	var d *gateway.Denied
	_, err = f.g.Admit(ctx, p, "r", 1, 0.05)
	if !errors.As(err, &d) || d.Code != CodeBudgetExceeded || d.RetryAfter != time.Second ||
		strings.Contains(d.Message, "is spent") || !strings.Contains(d.Message, "held by requests in flight ($0.10)") {
		t.Fatalf("$0.05 while requests in flight hold the whole $0.10: got %+v, want budget_exceeded, Retry-After 1s, naming the holds", err)
	}
	held[0].Settle(1, 1, 0)
	if a, err := f.g.Admit(ctx, p, "r", 1, 0.05); err != nil {
		t.Fatalf("$0.05 once one request settled at $0: %v, want admitted", err)
	} else {
		held[0] = a
	}
	// Spent $0.01, held $0.05, $0.04 left: $0.06 fits once the hold is
	// given back (the request may cost less than it holds); $0.095 does
	// not fit either way.
	held[0].Settle(1, 1, 0.01)
	held = held[1:]
	_, err = f.g.Admit(ctx, p, "r", 1, 0.06)
	if !errors.As(err, &d) || d.RetryAfter != time.Second || !strings.Contains(d.Message, "has $0.04 left") || !strings.Contains(d.Message, "holding $0.05") {
		t.Errorf("$0.06 with $0.01 spent and $0.05 held: got %+v, want $0.04 left, Retry-After 1s", err)
	}
	_, err = f.g.Admit(ctx, p, "r", 1, 0.095)
	if !errors.As(err, &d) || d.RetryAfter != 12*time.Hour || strings.Contains(d.Message, "in flight") || !strings.Contains(d.Message, "has $0.04 left") {
		t.Errorf("$0.095 with $0.01 spent: got %+v, want $0.04 left and the reset's Retry-After (no hold's end makes room)", err)
	}
	for _, a := range held {
		a.Settle(1, 1, 0)
	}
}
