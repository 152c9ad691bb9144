package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// Principal is who is calling: the tenant and key a request is charged to.
type Principal struct {
	TenantID string
	KeyID    string
	// Tier and Metadata are the key's, for routing policies.
	Tier     string
	Metadata map[string]string
	// AllowedRoutes, when not empty, lists the routes (or deployments) the
	// key may name.
	AllowedRoutes []string
}

// allows reports whether p may call route.
func (p *Principal) allows(route string) bool {
	if p == nil || len(p.AllowedRoutes) == 0 {
		return true
	}
	for _, r := range p.AllowedRoutes {
		if r == route || r == "*" {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p as the caller, authenticated already:
// the gateway serves a request with such a context as p without looking at
// its headers. Only code in the process can set it (the batch worker runs
// each line of a batch as the key that created the batch); nothing from a
// client's request reaches a context value.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

type durableKey struct{}

// WithDurableUsage returns ctx asking that the usage record of the request
// served with it be written before the request's handler returns (through
// a DurableRecorder), not queued: a batch line's, whose answer is then
// saved as done.
func WithDurableUsage(ctx context.Context) context.Context {
	return context.WithValue(ctx, durableKey{}, true)
}

// DurableRecorder is a Recorder that can also write a record before it
// returns (to the store, or a synced spool).
type DurableRecorder interface {
	Recorder
	Record(ctx context.Context, rec store.UsageRecord)
}

// Denied is a refusal from a Guard, answered in the client's dialect.
type Denied struct {
	Status int
	// Code is the stable error code ("invalid_api_key", "rate_limit_exceeded",
	// "budget_exceeded", ...); Type is the Anthropic error type.
	Code       string
	Type       string
	Message    string
	RetryAfter time.Duration
	// Who, when set, is the caller whose key was found but refused
	// (revoked, expired, its tenant disabled): the refusal is recorded
	// against its tenant and key. The client is told nothing more.
	Who *Principal
}

func (d *Denied) Error() string { return "gateway: " + d.Code + ": " + d.Message }

// SetRetryAfter sets h's Retry-After, in whole seconds rounded up, when d
// says when to try again, with X-Should-Retry: false when that is past
// provider.MaxRetryWait (a spent budget's next period).
func (d *Denied) SetRetryAfter(h http.Header) {
	switch {
	case d.RetryAfter > 0:
		provider.SetRetryWait(h, d.RetryAfter)
	case d.Status == http.StatusTooManyRequests:
		// A 429 no wait cures (the request's own worst case exceeds
		// the budget): the official SDKs would retry it otherwise.
		h.Set(headerShouldRetry, "false")
	}
}

const headerShouldRetry = provider.HeaderShouldRetry

// Admission is a request admitted against limits and budgets; Settle
// replaces the reservation with what the request actually used. It is
// called exactly once.
type Admission interface {
	Settle(inputTokens, outputTokens int, costUSD float64)
}

// Guard authenticates clients and admits their requests. The default guard
// checks the static keys of the config; the tenancy package provides one
// with virtual keys, rate limits and budgets.
type Guard interface {
	// Authenticate returns the caller, or a *Denied (401).
	Authenticate(ctx context.Context, h http.Header) (*Principal, error)
	// Admit reserves the request's estimated tokens and cost against the
	// principal's limits and budgets, or returns a *Denied (429, 402...).
	Admit(ctx context.Context, p *Principal, route string, tokens int, costUSD float64) (Admission, error)
}

// staticGuard accepts the config's static API keys (or everyone, when none
// is configured) and enforces no limits.
type staticGuard struct {
	keys *auth.Static
}

var anonymous = &Principal{}

func (s staticGuard) Authenticate(ctx context.Context, h http.Header) (*Principal, error) {
	if s.keys.Empty() {
		return anonymous, nil
	}
	key, ok := auth.FromHeader(h)
	if !ok || !s.keys.Check(key) {
		return nil, errInvalidKey
	}
	return anonymous, nil
}

func (staticGuard) Admit(context.Context, *Principal, string, int, float64) (Admission, error) {
	return noopAdmission{}, nil
}

type noopAdmission struct{}

func (noopAdmission) Settle(int, int, float64) {}

var errInvalidKey = &Denied{Status: http.StatusUnauthorized, Code: "invalid_api_key", Type: "authentication_error", Message: "invalid or missing API key"}
