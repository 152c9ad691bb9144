package executor

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/switchyard-gw/switchyard/internal/provider"
)

// ewmaWeight is the weight of a new sample in the health averages.
const ewmaWeight = 0.2

// ticket is what the breaker granted an attempt.
type ticket uint8

const (
	ticketDenied ticket = iota
	ticketNormal        // circuit closed
	ticketProbe         // the one half-open probe
	ticketForced        // every circuit open: sent anyway, acts as a probe
)

// outcome is how an attempt bears on its deployment's health.
type outcome uint8

const (
	outcomeSuccess outcome = iota
	outcomeFailure         // deployment-caused
	outcomeNeutral         // request-caused, or cut short by the client or deadline
)

func outcomeOf(k provider.Kind) outcome {
	if k.RequestCaused() {
		return outcomeNeutral
	}
	return outcomeFailure
}

// depState is one deployment's circuit breaker and health statistics.
type depState struct {
	mu       sync.Mutex
	open     bool
	openedAt time.Time
	probing  bool
	failures int
	inFlight int
	ttft     time.Duration
	latency  time.Duration
	tps      float64
	outLen   float64 // EWMA of completed streams' output tokens
	// changed, when set, is told when this replica's own traffic opens
	// the circuit (true) or a probe closes it (false).
	changed func(open bool)
}

// admit decides whether an attempt may be sent now. It reads the clock only
// when the circuit is open (this is the hot path).
func (d *depState) admit(o *Options) ticket {
	if o.BreakerThreshold <= 0 {
		return ticketNormal
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case !d.open:
		return ticketNormal
	case d.probing || o.Now().Before(d.openedAt.Add(o.BreakerOpenFor)):
		return ticketDenied
	}
	d.probing = true
	return ticketProbe
}

// deniesAfter reports whether admit would still refuse a call made wait
// from now: the circuit is open for longer, or another call probes it.
func (d *depState) deniesAfter(o *Options, wait time.Duration) bool {
	if o.BreakerThreshold <= 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.open && (d.probing || o.Now().Add(wait).Before(d.openedAt.Add(o.BreakerOpenFor)))
}

// result records an attempt's outcome in the breaker.
func (d *depState) result(o *Options, oc outcome, tk ticket) {
	d.mu.Lock()
	if tk == ticketProbe {
		d.probing = false
	}
	wasOpen := d.open
	opened := false
	switch oc {
	case outcomeSuccess:
		d.failures = 0
		d.open = false
	case outcomeFailure:
		d.failures++
		// A failed probe re-opens; a straggler that started before the
		// circuit opened does not extend the open period.
		if o.BreakerThreshold > 0 && (tk == ticketProbe || tk == ticketForced || !d.open && d.failures >= o.BreakerThreshold) {
			d.open = true
			d.openedAt = o.Now()
			opened = true
		}
	}
	closed := wasOpen && !d.open
	changed := d.changed
	d.mu.Unlock()
	if changed != nil && (opened || closed) {
		changed(opened)
	}
}

// restore opens the circuit as another replica opened it at openedAt,
// unless that open period is over or the circuit is open already.
func (d *depState) restore(o *Options, openedAt time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if o.BreakerThreshold <= 0 || d.open || !o.Now().Before(openedAt.Add(o.BreakerOpenFor)) {
		return
	}
	d.open, d.openedAt = true, openedAt
	d.failures = max(d.failures, o.BreakerThreshold)
}

// remote applies another replica's circuit change: open from now (unless
// already open), or closed.
func (d *depState) remote(o *Options, open bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !open {
		d.open, d.failures = false, 0
		return
	}
	if o.BreakerThreshold <= 0 || d.open {
		return
	}
	d.open, d.openedAt = true, o.Now()
	d.failures = max(d.failures, o.BreakerThreshold)
}

func (d *depState) enter() {
	d.mu.Lock()
	d.inFlight++
	d.mu.Unlock()
}

func (d *depState) leave() {
	d.mu.Lock()
	d.inFlight--
	d.mu.Unlock()
}

func ewmaDur(old, sample time.Duration) time.Duration {
	if old == 0 {
		return sample
	}
	return old + time.Duration(ewmaWeight*float64(sample-old))
}

func (d *depState) observeLatency(v time.Duration) {
	d.mu.Lock()
	d.latency = ewmaDur(d.latency, v)
	d.mu.Unlock()
}

func (d *depState) observeTTFT(v time.Duration) {
	d.mu.Lock()
	d.ttft = ewmaDur(d.ttft, v)
	d.mu.Unlock()
}

func (d *depState) observeRate(tokens int, over time.Duration) {
	if tokens <= 0 || over <= 0 {
		return
	}
	v := float64(tokens) / over.Seconds()
	d.mu.Lock()
	if d.tps == 0 {
		d.tps, d.outLen = v, float64(tokens)
	} else {
		d.tps += ewmaWeight * (v - d.tps)
		d.outLen += ewmaWeight * (float64(tokens) - d.outLen)
	}
	d.mu.Unlock()
}

func (d *depState) health(now time.Time, o *Options) Health {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := Health{State: "closed", TTFT: d.ttft, TokensPerSec: d.tps, OutputTokens: d.outLen,
		Latency: d.latency, InFlight: d.inFlight, ConsecutiveFailures: d.failures}
	if d.open {
		h.State = "open"
		if d.probing || !now.Before(d.openedAt.Add(o.BreakerOpenFor)) {
			h.State = "half_open"
		}
	}
	return h
}

// HTTPStatus is the status the gateway should answer with for an error
// returned by Chat, Stream or a committed stream's Next:
//
//	rate_limited 429 (send the provider's Retry-After if any)
//	unavailable, quota_exhausted 503
//	timeout 504
//	connection, upstream_auth, not_found, unknown 502 (our credential, link or deployment config is at fault, not the client)
//	context_length, bad_request, content_rejected 400
//	client cancellation (context.Canceled) 499
//
// ErrNoTarget errors follow their kind: 400 when the request fits no
// deployment's context window, 503 otherwise.
func HTTPStatus(err error) int {
	var pe *provider.Error
	if !errors.As(err, &pe) && errors.Is(err, context.Canceled) {
		return 499
	}
	switch provider.KindOf(err) {
	case provider.KindRateLimited:
		return http.StatusTooManyRequests
	case provider.KindUnavailable, provider.KindQuota:
		return http.StatusServiceUnavailable
	case provider.KindTimeout:
		return http.StatusGatewayTimeout
	case provider.KindContextLength, provider.KindBadRequest, provider.KindContentRejected:
		return http.StatusBadRequest
	}
	return http.StatusBadGateway
}
