package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// Limiter admits or rejects requests against per-scope limits. Safe for
// concurrent use.
type Limiter interface {
	// Admit checks every scope of req and, only if all admit, charges all
	// of them: one request against RPM, Scope.Tokens against TPM and one
	// slot against MaxConcurrent. A rejection returns a *Error and charges
	// nothing. On success the caller must call Ticket.Settle exactly once
	// when the upstream call has finished.
	Admit(ctx context.Context, req Request) (Ticket, error)
}

// Request is one admission check: every scope must admit it.
type Request struct {
	Scopes []Scope
}

// Scope is one thing that is limited, such as an API key or a tenant, with
// the limits in force for it. A zero limit means unlimited.
type Scope struct {
	// Key names the scope, e.g. "key:abc" or "tenant:t1". It must not be a
	// secret: it ends up in Redis keys and error messages.
	Key string
	// RPM is requests per minute.
	RPM int
	// TPM is tokens per minute.
	TPM int
	// MaxConcurrent is the number of requests in flight at once.
	MaxConcurrent int
	// Tokens is the reserved estimate charged against TPM before the call
	// (input estimate plus max_tokens); Ticket.Settle corrects it.
	Tokens int
}

// Ticket is an admitted request's hold on its scopes.
type Ticket interface {
	// Settle corrects the TPM charge from the reserved estimate to
	// actualTokens (refunding or charging the difference) and releases the
	// concurrency slot. Only the first call has an effect.
	Settle(actualTokens int)
}

// Limit names which limit of a scope rejected a request.
type Limit string

// The limits a Scope carries.
const (
	LimitRPM         Limit = "rpm"
	LimitTPM         Limit = "tpm"
	LimitConcurrency Limit = "concurrency"
)

// concurrencyRetryAfter is the hint given when a concurrency limit rejects:
// when a slot frees up is unknowable, so clients are told to retry soon.
const concurrencyRetryAfter = time.Second

// Error is a rejection: the request would exceed Limit of Scope. The gateway
// answers it with 429 and a Retry-After header.
type Error struct {
	// Scope is the Key of the scope that rejected.
	Scope string
	// Limit is the limit that would be exceeded.
	Limit Limit
	// RetryAfter is how long until the request could be admitted (for
	// concurrency, a fixed hint of one second).
	RetryAfter time.Duration
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("ratelimit: %s limit of %s exceeded, retry after %s", e.Limit, e.Scope, e.RetryAfter)
}
