package executor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// runner is the state of one request's walk along its plan.
type runner struct {
	e   *Executor
	o   *Options
	req *llm.Request
	tr  *Trace
	// trace and buf back tr, so that a request allocates its runner, trace
	// and first attempts at once.
	trace      Trace
	buf        [2]Attempt
	start      time.Time
	deadlineAt time.Time // by the injected clock, for decisions; zero: none
	// hardDeadline is the deadline by the real clock, which contexts and
	// timers enforce; zero: none.
	hardDeadline time.Time
	need         int // estimated input + requested output tokens
	minWindow    int // after a context_length failure: smallest window worth trying
	attempts     int
	stream       bool // Stream, not Chat
	// open starts one attempt's stream when it is not a chat stream
	// (streamed audio); nil: the provider's ChatStream.
	open    func(ctx context.Context, t *Target) (llm.Stream, error)
	tried   int // distinct deployments called
	lastErr error
	lastDep string
	// ticket is the breaker's admission of the attempt in progress: a
	// stream that commits takes it, and settles it when it ends.
	ticket ticket
}

func (e *Executor) newRunner(req *llm.Request, inputTokens int) *runner {
	o := e.opts.Load()
	r := &runner{e: e, o: o, req: req, start: o.Now()}
	r.tr = &r.trace
	r.tr.Attempts = r.buf[:0]
	r.need = inputTokens + max(req.MaxTokens, 0)
	if o.Deadline > 0 {
		r.deadlineAt = r.start.Add(o.Deadline)
		r.hardDeadline = time.Now().Add(o.Deadline)
	}
	return r
}

// deadlinePassed reports whether the overall deadline has expired.
func (r *runner) deadlinePassed() bool {
	return !r.hardDeadline.IsZero() && !time.Now().Before(r.hardDeadline)
}

func (r *runner) finishTrace() *Trace {
	r.tr.Fallbacks = max(r.tried-1, 0)
	return r.tr
}

// fits reports whether the target's context window can hold the request.
func (r *runner) fits(t *Target) bool {
	if t.ContextWindow <= 0 {
		return true
	}
	return t.ContextWindow >= r.need && t.ContextWindow >= r.minWindow
}

func (r *runner) skip(t *Target, reason string) {
	r.tr.Attempts = append(r.tr.Attempts, Attempt{Deployment: t.Deployment, Start: r.o.Now(), Skipped: reason})
}

func seenBefore(p *Plan, i int) bool {
	for j := range i {
		if p.Targets[j].Deployment == p.Targets[i].Deployment {
			return true
		}
	}
	return false
}

// attemptFunc makes one upstream call under the client's context; it
// enforces the overall deadline (r.hardDeadline) itself.
type attemptFunc[T any] func(ctx context.Context, r *runner, t *Target, ds *depState) (T, error)

// execute walks the plan and returns the first success, or the error the
// walk ended with.
func execute[T any](ctx context.Context, r *runner, p *Plan, call attemptFunc[T]) (T, error) {
	var zero T
	firstOpen := -1
	for i := range p.Targets {
		t := &p.Targets[i]
		if seenBefore(p, i) {
			r.skip(t, SkipDuplicate)
			continue
		}
		if !r.fits(t) {
			r.skip(t, SkipContextWindow)
			continue
		}
		if r.attempts >= r.o.MaxAttempts {
			return zero, r.failure()
		}
		if r.attempts > 0 && r.deadlinePassed() {
			return zero, r.deadlineFailure(t)
		}
		ds := r.e.dep(t.Deployment)
		tk := ds.admit(r.o)
		if tk == ticketDenied {
			r.skip(t, SkipCircuitOpen)
			if firstOpen < 0 {
				firstOpen = i
			}
			continue
		}
		if res, done, err := runTarget(ctx, r, t, ds, tk, call); done {
			return res, err
		}
	}
	if r.attempts == 0 && firstOpen >= 0 && !p.SkipOpen {
		// Every target that fits has an open circuit: probe the first one
		// rather than fail with nothing tried.
		t := &p.Targets[firstOpen]
		if res, done, err := runTarget(ctx, r, t, r.e.dep(t.Deployment), ticketForced, call); done {
			return res, err
		}
	}
	return zero, r.failure()
}

// runTarget calls one target, retrying it while the error's kind allows.
// done is false when the walk should go on to the next target.
func runTarget[T any](ctx context.Context, r *runner, t *Target, ds *depState, tk ticket, call attemptFunc[T]) (res T, done bool, err error) {
	var zero T
	r.tried++
	for retry := 0; ; retry++ {
		if retry > 0 {
			if r.attempts >= r.o.MaxAttempts {
				return zero, true, r.failure()
			}
			if r.deadlinePassed() {
				return zero, true, r.deadlineFailure(t)
			}
			if tk = ds.admit(r.o); tk == ticketDenied {
				return zero, false, nil // the circuit opened: fail over
			}
		}
		r.attempts++
		at := Attempt{Deployment: t.Deployment, Start: r.o.Now()}
		r.ticket = tk
		res, err := call(ctx, r, t, ds)
		at.Duration = r.o.Now().Sub(at.Start)
		if err == nil {
			if !r.stream {
				ds.observeLatency(at.Duration)
				ds.result(r.o, outcomeSuccess, tk)
			} // a committed stream settles the breaker when it ends
			at.Status = 200
			r.tr.Attempts = append(r.tr.Attempts, at)
			r.tr.Deployment = t.Deployment
			return res, true, nil
		}
		switch {
		case ctx.Err() != nil: // the client went away
			err = fmt.Errorf("executor: client gone: %w", ctx.Err())
		case r.deadlinePassed():
			err = timeoutError("deadline", r.o.Deadline, err)
		}
		at.Err, at.Kind, at.Status = err, provider.KindOf(err), statusOf(err)
		r.tr.Attempts = append(r.tr.Attempts, at)
		if ctx.Err() != nil {
			ds.result(r.o, outcomeNeutral, tk)
			return zero, true, err
		}
		r.lastErr, r.lastDep = err, t.Deployment
		if r.deadlinePassed() {
			ds.result(r.o, outcomeNeutral, tk)
			return zero, true, r.failure()
		}
		k := at.Kind
		ds.result(r.o, outcomeOf(k), tk)
		switch {
		case !k.Fallbackable():
			return zero, true, r.failure()
		case k == provider.KindContextLength:
			// Never the same model again; only a larger window may help.
			r.minWindow = max(r.minWindow, t.ContextWindow+1)
			return zero, false, nil
		case !k.Retryable() || retry >= r.o.RetriesPerDeployment:
			return zero, false, nil
		}
		wait, ok := r.backoff(retry, err)
		if !ok || ds.deniesAfter(r.o, wait) {
			// Fail over at once rather than wait for a retry that the
			// (now open) circuit would refuse.
			return zero, false, nil
		}
		if r.attempts >= r.o.MaxAttempts {
			return zero, true, r.failure()
		}
		// backoff keeps the wait inside the deadline, so only the client
		// can cut it short.
		if serr := r.o.Sleep(ctx, wait); serr != nil {
			return zero, true, fmt.Errorf("executor: client gone: %w", serr)
		}
	}
}

// backoff returns the wait before retry n (from 0) of the same deployment,
// and false when the executor should fail over at once instead: a
// Retry-After beyond MaxRetryAfter, or a wait past the deadline.
func (r *runner) backoff(n int, err error) (time.Duration, bool) {
	wait := time.Duration(r.o.Rand() * float64(ceiling(r.o.BackoffBase, r.o.BackoffMax, n)))
	var pe *provider.Error
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		if pe.RetryAfter > r.o.MaxRetryAfter {
			return 0, false
		}
		wait = max(wait, pe.RetryAfter)
	}
	if !r.deadlineAt.IsZero() && !r.o.Now().Add(wait).Before(r.deadlineAt) {
		return 0, false
	}
	return wait, true
}

// ceiling returns min(maxd, base*2^n) without overflowing; maxd <= 0 means
// no cap.
func ceiling(base, maxd time.Duration, n int) time.Duration {
	if base <= 0 {
		return 0
	}
	c := base
	for range n {
		if maxd > 0 && c >= maxd || c > 1<<61 {
			break
		}
		c *= 2
	}
	if maxd > 0 && c > maxd {
		c = maxd
	}
	return c
}

// deadlineFailure is the error when the deadline passed between attempts.
func (r *runner) deadlineFailure(t *Target) error {
	if r.lastErr == nil {
		r.lastErr, r.lastDep = timeoutError("deadline", r.o.Deadline, context.DeadlineExceeded), t.Deployment
	}
	return r.failure()
}

// failure returns the error a walk ends with: the last attempt's, or
// ErrNoTarget classified by why nothing was tried.
func (r *runner) failure() error {
	if r.lastErr != nil {
		var pe *provider.Error
		if errors.As(r.lastErr, &pe) {
			return fmt.Errorf("executor: %s: %w", r.lastDep, r.lastErr)
		}
		return fmt.Errorf("executor: %s: %w", r.lastDep, &provider.Error{Kind: provider.KindOf(r.lastErr), Err: r.lastErr})
	}
	kind, msg := provider.KindUnavailable, "no deployment available for this route"
	for _, a := range r.tr.Attempts {
		if a.Skipped == SkipContextWindow {
			kind, msg = provider.KindContextLength, "the request does not fit the context window of any deployment for this route"
			break
		}
	}
	return &provider.Error{Kind: kind, Message: msg, Err: ErrNoTarget}
}

func statusOf(err error) int {
	var pe *provider.Error
	if errors.As(err, &pe) {
		return pe.Status
	}
	return 0
}
