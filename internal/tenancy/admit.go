package tenancy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/switchyard-gw/switchyard/internal/budget"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/ratelimit"
)

// Error codes of admission refusals.
const (
	CodeRateLimited    = "rate_limit_exceeded"
	CodeBudgetExceeded = budget.ErrorCode
)

// Admit implements gateway.Guard: it reserves the estimated cost against
// the key's and the tenant's budgets, then charges their rate limits; a
// refusal charges nothing. A caller without a virtual key (static keys,
// open gateway) is not limited.
func (g *Guard) Admit(ctx context.Context, p *gateway.Principal, route string, tokens int, costUSD float64) (gateway.Admission, error) {
	return g.admit(ctx, p, tokens, costUSD, true)
}

// AdmitRate admits a request that costs nothing and calls no model (a
// feedback rating) against the key's and the tenant's rate limits only:
// a spent budget refuses what would add to it, and this adds nothing.
func (g *Guard) AdmitRate(ctx context.Context, p *gateway.Principal) (gateway.Admission, error) {
	return g.admit(ctx, p, 0, 0, false)
}

func (g *Guard) admit(ctx context.Context, p *gateway.Principal, tokens int, costUSD float64, budgets bool) (gateway.Admission, error) {
	if p == nil || p.KeyID == "" {
		return noop{}, nil
	}
	g.mu.RLock()
	e := g.byKey[p.KeyID]
	g.mu.RUnlock()
	if e == nil || e.key == nil {
		// Evicted between Authenticate and Admit: refuse rather than run
		// unlimited; the client's retry looks the key up again.
		return nil, errAuthUnavailable
	}
	k := e.key
	a := &admission{}
	// Budgets first: a rate limit's refusal then gives their hold back
	// (settled at 0), while a request taken from the rpm bucket could not
	// be given back to it; a refusal charges nothing. Without a budget in
	// this entry, the counters are still charged (against no limit) when
	// the tenant has one the entry does not know of yet, so that they miss
	// none of its spend.
	if budgets && (k.BudgetDailyUSD > 0 || k.BudgetMonthlyUSD > 0 || e.tenant.BudgetDailyUSD > 0 || e.tenant.BudgetMonthlyUSD > 0 || g.budgeted(e.tenantScope)) {
		bs := []budget.BudgetScope{
			{Key: "key:" + k.ID, DailyUSD: k.BudgetDailyUSD, MonthlyUSD: k.BudgetMonthlyUSD, Seeded: true},
			{Key: e.tenantScope, DailyUSD: e.tenant.BudgetDailyUSD, MonthlyUSD: e.tenant.BudgetMonthlyUSD, Seeded: true},
		}
		r, err := g.reserve(ctx, bs, costUSD)
		if err != nil {
			return nil, g.denyBudget(ctx, err, costUSD, bs)
		}
		a.res, a.scopes, a.g = r, bs, g
	}
	if k.RPM > 0 || k.TPM > 0 || k.MaxConcurrent > 0 || e.tenant.RPM > 0 || e.tenant.TPM > 0 || e.tenant.MaxConcurrent > 0 {
		scopes := make([]ratelimit.Scope, 2)
		scopes[0] = ratelimit.Scope{Key: "key:" + k.ID, RPM: k.RPM, TPM: k.TPM, MaxConcurrent: k.MaxConcurrent, Tokens: tokens}
		scopes[1] = ratelimit.Scope{Key: e.tenantScope, RPM: e.tenant.RPM, TPM: e.tenant.TPM, MaxConcurrent: e.tenant.MaxConcurrent, Tokens: tokens}
		t, err := g.limiter.Admit(ctx, ratelimit.Request{Scopes: scopes})
		if err != nil {
			if a.res != nil {
				a.res.Settle(0)
			}
			return nil, g.denyLimit(ctx, err)
		}
		a.ticket = t
	}
	return a, nil
}

// admission releases what Admit charged.
type admission struct {
	ticket ratelimit.Ticket
	res    budget.Reservation
	// For Extend: the budgets reserved against, and what was charged to
	// them already.
	g       *Guard
	scopes  []budget.BudgetScope
	mu      sync.Mutex
	charged float64
}

var _ gateway.Budgeted = (*admission)(nil)

// Extend charges costUSD to the same budgets at once when they can take
// it (checked as Reserve checks a new request's estimate), and refuses,
// charging nothing, when one cannot: a Realtime session's responses count
// as spent as each ends, not as a hold for the session's length (a hold
// in Redis lapses after budget's HoldTTL). Settle then settles only what
// was not charged yet. Without budgets it always succeeds.
func (a *admission) Extend(ctx context.Context, costUSD float64) error {
	if a.res == nil {
		return nil
	}
	r, err := a.g.reserve(ctx, a.scopes, costUSD)
	if err != nil {
		return a.g.denyBudget(ctx, err, costUSD, a.scopes)
	}
	r.Settle(costUSD)
	a.mu.Lock()
	a.charged += costUSD
	a.mu.Unlock()
	return nil
}

func (a *admission) Settle(inputTokens, outputTokens int, costUSD float64) {
	if a.ticket != nil {
		a.ticket.Settle(inputTokens + outputTokens)
	}
	if a.res != nil {
		a.mu.Lock()
		charged := a.charged
		a.mu.Unlock()
		a.res.Settle(max(costUSD-charged, 0))
	}
}

type noop struct{}

func (noop) Settle(int, int, float64) {}

// scopeName turns "key:ID" / "tenant:ID" into words for messages.
func scopeName(scope string) string {
	switch {
	case len(scope) > 4 && scope[:4] == "key:":
		return "API key " + scope[4:]
	case len(scope) > 7 && scope[:7] == "tenant:":
		return "tenant " + scope[7:]
	}
	return scope
}

// errClientGone is the refusal of a request whose client left while its
// limits or budgets were being checked: nobody reads it, and it is no
// failure of the gateway's (recorded as 499 client_cancelled).
var errClientGone = &gateway.Denied{Status: 499, Code: "client_cancelled", Type: "api_error", Message: "the client went away"}

func (g *Guard) denyLimit(ctx context.Context, err error) error {
	var le *ratelimit.Error
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return errClientGone
	}
	if !errors.As(err, &le) {
		g.log.Error("tenancy: rate limiter failed", "err", err)
		return &gateway.Denied{Status: http.StatusServiceUnavailable, Code: "limits_unavailable", Type: "api_error", Message: "the gateway could not check rate limits; retry later", RetryAfter: time.Second}
	}
	ra := le.RetryAfter
	if ra < time.Second {
		ra = time.Second
	}
	return &gateway.Denied{
		Status: http.StatusTooManyRequests, Code: CodeRateLimited, Type: "rate_limit_error",
		Message:    fmt.Sprintf("rate limit exceeded: the %s limit of %s", limitName(le.Limit), scopeName(le.Scope)),
		RetryAfter: ra,
	}
}

func limitName(l ratelimit.Limit) string {
	switch l {
	case ratelimit.LimitRPM:
		return "requests-per-minute (rpm)"
	case ratelimit.LimitTPM:
		return "tokens-per-minute (tpm)"
	case ratelimit.LimitConcurrency:
		return "concurrent-requests (max_concurrent)"
	}
	return string(l)
}

// denyBudget is the refusal of a request whose worst-case cost costUSD a
// budget cannot take: 429 budget_exceeded, saying which case it is. The
// request alone is more than the budget (no Retry-After: waiting does not
// help); requests in flight hold what it needs, so their end can make room
// (Retry-After: 1, as holds are settled within a request's time); or what
// is left is less than it, or nothing is, and only the period's reset
// helps (Retry-After until the next UTC day or month). scopes are the
// budgets reserved against, as configured: a refusal by a smaller limit
// than theirs was by this replica's share of it while Redis is down (see
// denyShare).
func (g *Guard) denyBudget(ctx context.Context, err error, costUSD float64, scopes []budget.BudgetScope) error {
	var be *budget.Error
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return errClientGone
	}
	if !errors.As(err, &be) {
		g.log.Error("tenancy: budgets failed", "err", err)
		return &gateway.Denied{Status: http.StatusServiceUnavailable, Code: "budgets_unavailable", Type: "api_error", Message: "the gateway could not check budgets; retry later", RetryAfter: time.Second}
	}
	now := g.now().UTC()
	reset := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	if be.Period == budget.Monthly {
		reset = time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	}
	d := &gateway.Denied{
		Status: http.StatusTooManyRequests, Code: CodeBudgetExceeded, Type: "rate_limit_error",
		Message:    fmt.Sprintf("budget exceeded: the %s budget of %s (%s) is spent", be.Period, scopeName(be.Scope), usd(be.Limit)),
		RetryAfter: reset.Sub(now),
	}
	// In nano-dollars, as the budgets count: what is left, and whether the
	// request fits once the holds of requests in flight are given back.
	limit, spent, held, cost := nanos(be.Limit), nanos(be.Spent), nanos(be.Reserved), nanos(costUSD)
	left := be.Limit - be.Spent - be.Reserved
	full := configured(scopes, be)
	if costUSD <= full && nanos(full) > limit {
		return denyShare(be, full, costUSD)
	}
	if full > be.Limit {
		// Too big for the whole budget, not only for the share: said of
		// the budget.
		c := *be
		c.Limit, be = full, &c
	}
	switch {
	case costUSD > be.Limit:
		// Waiting does not help: the request is too big for the budget.
		d.Message = fmt.Sprintf("budget exceeded: this request's worst-case cost (%s, from its input and the most it asks for: max_tokens or the deployments' output limit times n, images, or the seconds an audio upload can hold) is more than the %s budget of %s (%s); ask for less: fewer tokens (max_tokens), choices or images (n), or a shorter upload",
			usd(costUSD), be.Period, scopeName(be.Scope), usd(be.Limit))
		d.RetryAfter = 0
	case held > 0 && spent+cost <= limit:
		// Requests in flight hold the room it needs: they end within a
		// request's time, and are settled at what they cost.
		if limit-spent-held > 0 {
			d.Message = fmt.Sprintf("budget exceeded: the %s budget of %s (%s) has %s left, less than this request's worst-case cost (%s); lower max_tokens, or retry once requests in flight (holding %s) end",
				be.Period, scopeName(be.Scope), usd(be.Limit), usd(left), usd(costUSD), usd(be.Reserved))
		} else {
			d.Message = fmt.Sprintf("budget exceeded: what is left of the %s budget of %s (%s) is held by requests in flight (%s); retry once they end",
				be.Period, scopeName(be.Scope), usd(be.Limit), usd(be.Reserved))
		}
		d.RetryAfter = time.Second
	case left > 0:
		d.Message = fmt.Sprintf("budget exceeded: the %s budget of %s (%s) has %s left, less than this request's worst-case cost (%s); lower max_tokens",
			be.Period, scopeName(be.Scope), usd(be.Limit), usd(left), usd(costUSD))
	}
	return d
}

// shareRetryAfter is the Retry-After of a refusal by this replica's share
// of a budget: the budgets try Redis again every second.
const shareRetryAfter = time.Second

// denyShare is the refusal of a request by this replica's share (be.Limit)
// of a budget of full USD, which it enforces alone while Redis, where the
// replicas count together, is unreachable: a refusal of the outage, not
// of the budget, so it is to be retried, and it names both.
func denyShare(be *budget.Error, full, costUSD float64) error {
	var why string
	switch left := be.Limit - be.Spent - be.Reserved; {
	case costUSD > be.Limit:
		why = fmt.Sprintf("this request's worst-case cost (%s) is more than that share", usd(costUSD))
	case left > 0:
		why = fmt.Sprintf("that share has %s left, less than this request's worst-case cost (%s)", usd(left), usd(costUSD))
	case be.Reserved > 0:
		why = fmt.Sprintf("what is left of that share is held by requests in flight (%s)", usd(be.Reserved))
	default:
		why = "that share is spent"
	}
	return &gateway.Denied{
		Status: http.StatusTooManyRequests, Code: CodeBudgetExceeded, Type: "rate_limit_error",
		Message: fmt.Sprintf("budget exceeded: the budget counters (Redis) are unreachable, so this replica enforces only its share (%s) of the %s budget of %s (%s), and %s; retry shortly",
			usd(be.Limit), be.Period, scopeName(be.Scope), usd(full), why),
		RetryAfter: shareRetryAfter,
	}
}

// configured is the budget of scopes that be refused the request by, as
// configured (0 when scopes do not name it).
func configured(scopes []budget.BudgetScope, be *budget.Error) float64 {
	for _, s := range scopes {
		if s.Key != be.Scope {
			continue
		}
		if be.Period == budget.Monthly {
			return s.MonthlyUSD
		}
		return s.DailyUSD
	}
	return 0
}

// nanos is v USD in nano-dollars, as the budgets count it.
func nanos(v float64) int64 { return int64(math.Round(v * 1e9)) }

// usd formats a budget in dollars: cents, or as many digits as a smaller
// budget needs ($0.0001, not $0.00).
func usd(v float64) string {
	if v >= 0.01 && math.Abs(v*100-math.Round(v*100)) < 1e-9 {
		return fmt.Sprintf("$%.2f", v)
	}
	return "$" + strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64) // to the micro-dollar
}
