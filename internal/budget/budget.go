package budget

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// Budgets reserves estimated cost before an upstream call and settles it to
// actual cost after. Safe for concurrent use.
type Budgets interface {
	// Reserve holds estimateUSD against every period limit of every scope,
	// atomically: if any would be exceeded (spent + reserved + estimate >
	// limit) it returns a *Error and holds nothing. It returns a
	// *SeedError, holding nothing, when a scope marked Seeded has a
	// limited period whose counter Seed has not set (see
	// BudgetScope.Seeded). On success the caller must call
	// Reservation.Settle exactly once.
	Reserve(ctx context.Context, scopes []BudgetScope, estimateUSD float64) (Reservation, error)
	// Seed raises the spend recorded for scopeKey in the current period to
	// at least spentUSD, and marks the period's counter seeded; the gateway
	// calls it with totals from the usage store. It never lowers spend
	// already recorded.
	Seed(ctx context.Context, scopeKey string, period Period, spentUSD float64) error
}

// BudgetScope is one thing with a budget, such as a key or a tenant. A zero
// limit means no limit for that period.
type BudgetScope struct {
	// Key names the scope, e.g. "key:abc" or "tenant:t1"; never a secret.
	Key string
	// DailyUSD limits spend per UTC calendar day.
	DailyUSD float64
	// MonthlyUSD limits spend per UTC calendar month.
	MonthlyUSD float64
	// Seeded says the caller seeds this scope's counters (Seed) from the
	// record of what was spent: Reserve then refuses with a *SeedError
	// when a period of the scope that has a limit has a counter Seed has
	// not set since it was created, because Redis lost its data (a
	// restart without persistence, a failover) or the period has just
	// begun; the caller seeds it and reserves again. Memory never refuses
	// so: its counters live as long as the process.
	Seeded bool
}

// ScopePeriod names one counter: a scope's spend in one period.
type ScopePeriod struct {
	Scope  string
	Period Period
}

// SeedError is Reserve's refusal of a reservation whose counters Need have
// not been seeded (BudgetScope.Seeded).
type SeedError struct {
	Need []ScopePeriod
}

// Error implements error.
func (e *SeedError) Error() string {
	var b strings.Builder
	b.WriteString("budget: counters not seeded:")
	for _, n := range e.Need {
		b.WriteString(" " + n.Scope + "/" + string(n.Period))
	}
	return b.String()
}

// Reservation is a hold on budget for one request.
type Reservation interface {
	// Settle releases the hold and records actualUSD as spent in the
	// periods the reservation was made in. Only the first call has an
	// effect.
	Settle(actualUSD float64)
}

// Period is a budget period: a UTC calendar day or month.
type Period string

// The budget periods.
const (
	Daily   Period = "daily"
	Monthly Period = "monthly"
)

// ErrorCode is the machine-readable code clients get for a *Error.
const ErrorCode = "budget_exceeded"

// Error is a rejection: the request's estimate does not fit in the Period
// budget of Scope.
type Error struct {
	// Scope is the Key of the scope whose budget is exhausted.
	Scope string
	// Period is the budget period that would be exceeded.
	Period Period
	// Limit is the period's budget in USD.
	Limit float64
	// Spent is the settled spend of the period in USD.
	Spent float64
	// Reserved is the spend held by requests in flight, in USD.
	Reserved float64
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("budget: %s budget of %s exceeded: spent %.6f + reserved %.6f of %.6f USD",
		e.Period, e.Scope, e.Spent, e.Reserved, e.Limit)
}

// Amounts are kept as integer nano-dollars so that sums are exact.
const nanosPerUSD = 1e9

// MaxUSD is the most the counters take as one amount: the largest budget
// (the admin API refuses a larger one) and the largest estimate a
// reservation holds. A budget above it counts as MaxUSD; an estimate above
// it is more than any budget and is refused, even by a scope without one
// (Reserve returns a *Error whose Limit is MaxUSD), never held.
const MaxUSD = 1e9

// maxNanos is MaxUSD in nano-dollars; tooBig, one more, is what toNanos
// makes of any larger amount. Sums of them stay far from int64's limit.
const (
	maxNanos int64 = 1e18
	tooBig         = maxNanos + 1
)

// toNanos converts usd to nano-dollars, saturating: 0 for a negative or
// NaN amount, tooBig for one above MaxUSD (+Inf included), so that no
// amount wraps around to a negative one.
func toNanos(usd float64) int64 {
	if usd <= 0 || math.IsNaN(usd) {
		return 0
	}
	if usd*nanosPerUSD > float64(maxNanos) {
		return tooBig
	}
	return int64(math.Round(usd * nanosPerUSD))
}

// limitNanos is a budget in nano-dollars: a positive one is at least one,
// never 0 (unlimited), however small (the admin API refuses a budget
// under a nano-dollar; one stored before it did is still enforced), and at
// most maxNanos, so an estimate too big to count (tooBig) is refused by
// every budget.
func limitNanos(usd float64) int64 {
	if usd > 0 {
		return min(max(toNanos(usd), 1), maxNanos)
	}
	return 0
}

// addSat is a+b for amounts that are not negative, saturating at
// math.MaxInt64 rather than wrapping.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// unlimited reports whether no scope has a budget.
func unlimited(scopes []BudgetScope) bool {
	for _, s := range scopes {
		if s.DailyUSD > 0 || s.MonthlyUSD > 0 {
			return false
		}
	}
	return true
}

// tooBigError is the refusal of an estimate above MaxUSD by scopes none
// of which has a budget: more than any budget could be, and more than the
// counters take.
func tooBigError(scopes []BudgetScope) *Error {
	e := &Error{Scope: "", Period: Daily, Limit: MaxUSD}
	if len(scopes) > 0 {
		e.Scope = scopes[0].Key
	}
	return e
}

func toUSD(n int64) float64 { return float64(n) / nanosPerUSD }

// periodIDs returns the UTC day and month t falls in, as day number since
// the epoch and year*12+month.
func periodIDs(t time.Time) (day, month int64) {
	t = t.UTC()
	y, m, d := t.Date()
	return int64(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400), int64(y)*12 + int64(m) - 1
}
