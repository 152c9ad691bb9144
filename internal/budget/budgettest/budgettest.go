// Package budgettest is the conformance suite every budget.Budgets
// implementation passes: the memory and Redis budgets run the same tests.
package budgettest

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/budget"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
)

// NewFunc builds fresh Budgets (with fresh state) reading time from now.
type NewFunc func(t *testing.T, now func() time.Time) budget.Budgets

// Start is the time every test's clock starts at: 12:00 UTC on a day in
// the middle of a month.
var Start = time.Date(2030, 3, 14, 12, 0, 0, 0, time.UTC)

// Run runs the conformance suite against budgets built by newBudgets.
func Run(t *testing.T, newBudgets NewFunc) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b budget.Budgets, c *clocktest.Clock)
	}{
		{"race admits exactly one", testRace},
		{"reserve and settle", testReserveSettle},
		{"settle is idempotent", testSettleIdempotent},
		{"daily and monthly periods", testPeriods},
		{"settle after the day ended", testSettleAcrossDay},
		{"rejection holds nothing", testAllOrNothing},
		{"seed raises spend", testSeed},
		{"zero limits are unlimited", testUnlimited},
		{"a budget under a nano-dollar is enforced", testTinyBudget},
		{"cancelled context", testCancelled},
		{"an estimate too big to count is refused, never wraps", testTooBig},
		{"amounts above 1e17 nano-dollars are counted", testLargeAmounts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clocktest.New(Start)
			tt.fn(t, newBudgets(t, c.Now), c)
		})
	}
}

func reserve(t *testing.T, b budget.Budgets, est float64, scopes ...budget.BudgetScope) (budget.Reservation, *budget.Error) {
	t.Helper()
	res, err := b.Reserve(context.Background(), scopes, est)
	if err == nil {
		return res, nil
	}
	var berr *budget.Error
	if !errors.As(err, &berr) {
		t.Fatalf("Reserve: got error %v, want nil or *budget.Error", err)
	}
	return nil, berr
}

func mustReserve(t *testing.T, b budget.Budgets, est float64, scopes ...budget.BudgetScope) budget.Reservation {
	t.Helper()
	res, berr := reserve(t, b, est, scopes...)
	if berr != nil {
		t.Fatalf("Reserve(%v): got %v, want admitted", est, berr)
	}
	return res
}

func wantRejected(t *testing.T, berr *budget.Error, scope string, p budget.Period) {
	t.Helper()
	if berr == nil {
		t.Fatalf("got admitted, want %s rejection of %s", p, scope)
	}
	if berr.Scope != scope || berr.Period != p {
		t.Fatalf("got rejection %s/%s, want %s/%s", berr.Scope, berr.Period, scope, p)
	}
}

func approx(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func testRace(t *testing.T, b budget.Budgets, _ *clocktest.Clock) {
	s := budget.BudgetScope{Key: "tenant:t", DailyUSD: 1}
	var ok atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			if _, err := b.Reserve(context.Background(), []budget.BudgetScope{s}, 0.6); err == nil {
				ok.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := ok.Load(); got != 1 {
		t.Fatalf("admitted: got %d, want 1", got)
	}
}

func testReserveSettle(t *testing.T, b budget.Budgets, _ *clocktest.Clock) {
	s := budget.BudgetScope{Key: "key:a", DailyUSD: 1}
	r1 := mustReserve(t, b, 0.5, s)
	_, berr := reserve(t, b, 0.6, s)
	wantRejected(t, berr, "key:a", budget.Daily)
	approx(t, "limit", berr.Limit, 1)
	approx(t, "spent", berr.Spent, 0)
	approx(t, "reserved", berr.Reserved, 0.5)
	r1.Settle(0.1)
	mustReserve(t, b, 0.9, s) // 0.1 spent + 0.9 = exactly the limit
	_, berr = reserve(t, b, 0.000001, s)
	wantRejected(t, berr, "key:a", budget.Daily)
	approx(t, "spent", berr.Spent, 0.1)
	approx(t, "reserved", berr.Reserved, 0.9)
}

func testSettleIdempotent(t *testing.T, b budget.Budgets, _ *clocktest.Clock) {
	s := budget.BudgetScope{Key: "key:a", DailyUSD: 1}
	r := mustReserve(t, b, 0.2, s)
	r.Settle(0.3)
	r.Settle(0.3)
	_, berr := reserve(t, b, 0.8, s)
	wantRejected(t, berr, "key:a", budget.Daily)
	approx(t, "spent", berr.Spent, 0.3)
	approx(t, "reserved", berr.Reserved, 0)
	mustReserve(t, b, 0.7, s)
}

func testPeriods(t *testing.T, b budget.Budgets, c *clocktest.Clock) {
	s := budget.BudgetScope{Key: "tenant:t", DailyUSD: 1.5, MonthlyUSD: 2}
	mustReserve(t, b, 1.5, s).Settle(1.5)
	_, berr := reserve(t, b, 0.1, s)
	wantRejected(t, berr, "tenant:t", budget.Daily)
	c.Set(time.Date(2030, 3, 15, 0, 0, 0, 0, time.UTC)) // next UTC day
	_, berr = reserve(t, b, 0.6, s)
	wantRejected(t, berr, "tenant:t", budget.Monthly)
	approx(t, "monthly spent", berr.Spent, 1.5)
	mustReserve(t, b, 0.5, s).Settle(0.5)
	c.Set(time.Date(2030, 3, 31, 23, 59, 59, 0, time.UTC))
	_, berr = reserve(t, b, 0.01, s)
	wantRejected(t, berr, "tenant:t", budget.Monthly)
	c.Set(time.Date(2030, 4, 1, 0, 0, 0, 0, time.UTC)) // next UTC month
	mustReserve(t, b, 1.5, s)
}

func testSettleAcrossDay(t *testing.T, b budget.Budgets, c *clocktest.Clock) {
	s := budget.BudgetScope{Key: "key:a", DailyUSD: 1, MonthlyUSD: 2}
	c.Set(time.Date(2030, 3, 14, 23, 59, 59, 0, time.UTC))
	r := mustReserve(t, b, 1, s)
	c.Set(time.Date(2030, 3, 15, 0, 0, 1, 0, time.UTC))
	r.Settle(1)                   // lands in the 14th and in March
	r2 := mustReserve(t, b, 1, s) // the 15th is untouched
	_, berr := reserve(t, b, 0.01, s)
	wantRejected(t, berr, "key:a", budget.Daily)
	approx(t, "daily spent", berr.Spent, 0)
	approx(t, "daily reserved", berr.Reserved, 1)
	r2.Settle(0.5)
	c.Set(time.Date(2030, 3, 16, 0, 0, 0, 0, time.UTC))
	_, berr = reserve(t, b, 0.6, s)
	wantRejected(t, berr, "key:a", budget.Monthly)
	approx(t, "monthly spent", berr.Spent, 1.5)
}

func testAllOrNothing(t *testing.T, b budget.Budgets, _ *clocktest.Clock) {
	key := budget.BudgetScope{Key: "key:a", DailyUSD: 10}
	tenant := budget.BudgetScope{Key: "tenant:t", MonthlyUSD: 1}
	mustReserve(t, b, 0.8, key, tenant)
	for range 3 {
		_, berr := reserve(t, b, 0.8, key, tenant)
		wantRejected(t, berr, "tenant:t", budget.Monthly)
	}
	mustReserve(t, b, 9.2, key) // key holds only the first 0.8
	_, berr := reserve(t, b, 0.001, key)
	wantRejected(t, berr, "key:a", budget.Daily)
}

func testSeed(t *testing.T, b budget.Budgets, _ *clocktest.Clock) {
	ctx := context.Background()
	s := budget.BudgetScope{Key: "tenant:t", DailyUSD: 1, MonthlyUSD: 5}
	if err := b.Seed(ctx, "tenant:t", budget.Daily, 0.9); err != nil {
		t.Fatalf("Seed: got %v, want nil", err)
	}
	if err := b.Seed(ctx, "tenant:t", budget.Daily, 0.1); err != nil { // never lowers
		t.Fatalf("Seed: got %v, want nil", err)
	}
	if err := b.Seed(ctx, "tenant:t", budget.Monthly, 4.5); err != nil {
		t.Fatalf("Seed: got %v, want nil", err)
	}
	_, berr := reserve(t, b, 0.2, s)
	wantRejected(t, berr, "tenant:t", budget.Daily)
	approx(t, "spent", berr.Spent, 0.9)
	mustReserve(t, b, 0.1, s)
	if err := b.Seed(ctx, "tenant:t", "weekly", 1); err == nil {
		t.Fatal("Seed(weekly): got nil, want error")
	}
}

func testUnlimited(t *testing.T, b budget.Budgets, _ *clocktest.Clock) {
	s := budget.BudgetScope{Key: "key:a"}
	for range 100 {
		mustReserve(t, b, 1000, s).Settle(1000)
	}
	mustReserve(t, b, 1).Settle(1)
}

// testTinyBudget: a positive budget too small to count in nano-dollars
// is one nano-dollar, not 0 (unlimited).
func testTinyBudget(t *testing.T, b budget.Budgets, _ *clocktest.Clock) {
	for _, s := range []budget.BudgetScope{{Key: "key:d", DailyUSD: 1e-10}, {Key: "key:m", MonthlyUSD: 4e-10}} {
		_, berr := reserve(t, b, 0.000325, s)
		if berr == nil {
			t.Fatalf("%s: got a $0.000325 request admitted against a budget of %v/%v USD, want refused", s.Key, s.DailyUSD, s.MonthlyUSD)
		}
	}
}

func testCancelled(t *testing.T, b budget.Budgets, _ *clocktest.Clock) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Reserve(ctx, []budget.BudgetScope{{Key: "key:a", DailyUSD: 1}}, 0.1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// testTooBig: an estimate beyond what the nano-dollar counters hold (a
// client's n times max_tokens at a premium price) is refused as more than
// any budget, holds nothing, and leaves the budget enforcing the requests
// that follow; it never wraps around to a negative hold that would let
// them through.
func testTooBig(t *testing.T, b budget.Budgets, _ *clocktest.Clock) {
	s := budget.BudgetScope{Key: "tenant:t", DailyUSD: 0.01}
	for _, est := range []float64{1.3e11, 9.3e9, 1e300, math.MaxFloat64, math.Inf(1), budget.MaxUSD * 1.0000001} {
		_, berr := reserve(t, b, est, s)
		wantRejected(t, berr, "tenant:t", budget.Daily)
		approx(t, "reserved", berr.Reserved, 0)
	}
	// Nothing was held: the budget admits what fits, and refuses the rest.
	r := mustReserve(t, b, 0.006, s)
	_, berr := reserve(t, b, 0.006, s)
	wantRejected(t, berr, "tenant:t", budget.Daily)
	approx(t, "reserved", berr.Reserved, 0.006)
	r.Settle(0.03) // an actual cost over the budget is recorded as it is
	_, berr = reserve(t, b, 0.000001, s)
	wantRejected(t, berr, "tenant:t", budget.Daily)
	approx(t, "spent", berr.Spent, 0.03)

	// The largest budget, nearly spent, against the largest estimates:
	// spent + reserved + estimate must not wrap either.
	big := budget.BudgetScope{Key: "tenant:big", DailyUSD: budget.MaxUSD, MonthlyUSD: budget.MaxUSD}
	mustReserve(t, b, budget.MaxUSD-1, big).Settle(budget.MaxUSD - 1)
	for _, est := range []float64{2, budget.MaxUSD, 9.3e9, math.Inf(1)} {
		_, berr = reserve(t, b, est, big)
		wantRejected(t, berr, "tenant:big", budget.Daily)
	}
	mustReserve(t, b, 1, big)

	// Without any budget, such an estimate is refused all the same: more
	// than any budget could be, and nothing is held.
	free := budget.BudgetScope{Key: "key:free"}
	for range 20 {
		_, berr = reserve(t, b, 1.3e11, free)
		if berr == nil {
			t.Fatal("an estimate of $1.3e11 without a budget: got admitted, want refused")
		}
		approx(t, "limit", berr.Limit, budget.MaxUSD)
	}
	mustReserve(t, b, budget.MaxUSD, free).Settle(1)
	mustReserve(t, b, 1, free).Settle(1)
}

// testLargeAmounts: holds and spend of 1e17 nano-dollars ($1e8) or more
// are counted (Redis's HINCRBY refuses a Lua number that large, as it is
// written with an exponent).
func testLargeAmounts(t *testing.T, b budget.Budgets, _ *clocktest.Clock) {
	s := budget.BudgetScope{Key: "tenant:l", DailyUSD: budget.MaxUSD}
	r := mustReserve(t, b, 6e8, s)
	_, berr := reserve(t, b, 5e8, s)
	wantRejected(t, berr, "tenant:l", budget.Daily)
	approx(t, "reserved", berr.Reserved/1e8, 6)
	r.Settle(3e8)
	_, berr = reserve(t, b, 8e8, s)
	wantRejected(t, berr, "tenant:l", budget.Daily)
	approx(t, "spent", berr.Spent/1e8, 3)
	approx(t, "reserved", berr.Reserved, 0)
	mustReserve(t, b, 7e8, s)
}
