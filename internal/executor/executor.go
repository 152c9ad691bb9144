// Package executor carries out a routing plan: it sends one client request to
// the plan's deployments in order, retrying, failing over and circuit-breaking
// by the kind of each upstream error (provider.Kind). It is the gateway's only
// retry layer. It never writes to the client: it returns a complete response,
// or a stream committed at its first content event, and the gateway writes it.
//
// Decisions by kind (provider.KindOf of the attempt's error):
//
//	rate_limited, unavailable, connection, unknown
//	                    retry the same deployment up to RetriesPerDeployment
//	                    times (full-jitter back-off, Retry-After honoured up
//	                    to MaxRetryAfter), then the next target
//	timeout             next target at once (a silent deployment is not retried)
//	context_length      next target whose ContextWindow is larger than the
//	                    failed one's and fits the estimate, else fail
//	upstream_auth, quota_exhausted
//	                    next target at once
//	bad_request, content_rejected
//	                    stop: the provider's message reaches the client
//
// Targets whose ContextWindow cannot hold inputTokens+MaxTokens are skipped
// before anything is sent (Attempt.Skipped "context_window"), as are targets
// whose circuit is open ("circuit_open"). When every target that fits was
// skipped for an open circuit and nothing was sent, the executor sends the
// request to the first of them anyway, as a probe: a request is never failed
// with nothing tried because of breaker state alone. A success closes that
// circuit; a failure re-opens it for another BreakerOpenFor. A plan for
// one step of a request (Plan.SkipOpen) gets no such probe: its caller
// goes on without it.
//
// The overall Deadline bounds all attempts of a non-streaming request, and
// for a stream the time until it is committed; a committed stream is then
// bounded by its IdleTimeout (and the client's context), not by Deadline, so
// long generations are not cut.
//
// The executor relies on adapters honouring context cancellation: a
// first-token or idle timeout cancels the attempt's context, which must make
// a blocked ChatStream or Stream.Next return. Pre-commit events are buffered
// and replayed, so adapters must not reuse an Event's memory across Next
// calls.
package executor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// Target is one deployment a plan may send the request to.
type Target struct {
	// Deployment is the deployment's unique name; breaker state and health
	// are kept per name.
	Deployment string
	// Provider sends the request to the deployment.
	Provider provider.Provider
	// ContextWindow is the model's context size in tokens; 0 means unknown
	// (the target is never skipped for size before sending).
	ContextWindow int
	// MaxOutputTokens is the model's output limit in tokens; 0 when unknown.
	MaxOutputTokens int
	// Timeout bounds one non-streaming attempt; 0 means none (the overall
	// Deadline still applies).
	Timeout time.Duration
	// FirstTokenTimeout bounds, for streams, the time from sending to the
	// first content event; past it the attempt is cancelled and the executor
	// fails over. 0 means none.
	FirstTokenTimeout time.Duration
	// IdleTimeout is, for committed streams, the longest wait for the next
	// upstream event; past it the stream fails with a timeout. 0 means none.
	IdleTimeout time.Duration
}

// Plan is the ordered list of targets the router chose for one request:
// primary first, then fallbacks. Deployments are distinct; a repeated one is
// skipped (Attempt.Skipped "duplicate").
type Plan struct {
	Route   string
	Targets []Target
	// SkipOpen makes a target whose circuit is open a skip even when every
	// target's is: the walk then fails at once with ErrNoTarget (the
	// skips say circuit_open) instead of sending the forced probe. It is
	// for a plan that is one step of a request with its own way on (a
	// cascade stage, a classifier, judge or embedding call), which would
	// otherwise call a deployment the breaker gave up on for every
	// request. The half-open probe after BreakerOpenFor goes through as
	// usual.
	SkipOpen bool
}

// Options tune retries, back-off, the deadline and circuit breaking. The zero
// value of a field means: MaxAttempts 4; RetriesPerDeployment, BackoffBase,
// MaxRetryAfter 0 (no retry, no wait, Retry-After never honoured); BackoffMax
// 0 = no cap; Deadline 0 = none; BreakerThreshold 0 = breaker off.
type Options struct {
	// MaxAttempts bounds upstream calls per request (skips do not count).
	MaxAttempts int
	// RetriesPerDeployment bounds retries of one deployment after its first
	// attempt.
	RetriesPerDeployment int
	// BackoffBase and BackoffMax shape full-jitter exponential back-off:
	// the n-th retry of a deployment (n from 0) waits
	// Rand()*min(BackoffMax, BackoffBase*2^n).
	BackoffBase, BackoffMax time.Duration
	// MaxRetryAfter is the longest provider Retry-After honoured on the same
	// deployment; a longer one fails over at once.
	MaxRetryAfter time.Duration
	// Deadline is the overall time budget of a request's attempts.
	Deadline time.Duration
	// BreakerThreshold consecutive deployment-caused failures open a
	// deployment's circuit for BreakerOpenFor; then one half-open probe
	// request is let through.
	BreakerThreshold int
	BreakerOpenFor   time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done; default a timer. Called before each
	// retry of the same deployment (with the wait chosen, possibly 0).
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0,1) for jitter; default math/rand/v2.
	// It must be safe for concurrent use.
	Rand func() float64
}

func (o Options) withDefaults() Options {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 4
	}
	if o.RetriesPerDeployment < 0 {
		o.RetriesPerDeployment = 0
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	return o
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Executor carries out plans. It keeps circuit-breaker state and health
// statistics per deployment name. Safe for concurrent use.
type Executor struct {
	opts   atomic.Pointer[Options]
	deps   sync.Map // deployment name → *depState
	onCirc atomic.Pointer[func(deployment string, open bool)]
}

// OnCircuit sets fn to be told, synchronously and so it must not block,
// when this executor's own traffic opens a deployment's circuit (open
// true, also when a failed probe opens it again) or a probe closes it.
// Replicas share circuit state by passing these on (package circuit).
func (e *Executor) OnCircuit(fn func(deployment string, open bool)) { e.onCirc.Store(&fn) }

// RemoteCircuit applies a circuit change another replica saw: open makes
// the deployment's circuit open from now for BreakerOpenFor (it then
// probes as usual), unless it is open already; closed closes it. It does
// not call the OnCircuit function.
func (e *Executor) RemoteCircuit(deployment string, open bool) {
	e.dep(deployment).remote(e.opts.Load(), open)
}

// RestoreCircuit opens the deployment's circuit as another replica opened
// it at openedAt, for what is left of BreakerOpenFor (nothing when that
// has passed): how a replica that starts learns of circuits already open.
// It does not call the OnCircuit function.
func (e *Executor) RestoreCircuit(deployment string, openedAt time.Time) {
	e.dep(deployment).restore(e.opts.Load(), openedAt)
}

// New returns an executor with the given options.
func New(opts Options) *Executor {
	e := &Executor{}
	e.SetOptions(opts)
	return e
}

// SetOptions replaces the options (on config reload). Breaker state and
// health statistics survive; requests in flight keep the options they
// started with.
func (e *Executor) SetOptions(opts Options) {
	o := opts.withDefaults()
	e.opts.Store(&o)
}

// Trace records what the executor did for one request.
type Trace struct {
	// Attempts lists upstream calls and skipped targets, in order.
	Attempts []Attempt
	// Deployment is the deployment that answered; empty on failure.
	Deployment string
	// TTFT is, for streams, the time from the Stream call to the first
	// content event.
	TTFT time.Duration
	// Fallbacks counts the deployments tried after the first one.
	Fallbacks int
}

// Skip reasons recorded in Attempt.Skipped.
const (
	SkipCircuitOpen   = "circuit_open"
	SkipContextWindow = "context_window"
	SkipDuplicate     = "duplicate"
)

// Attempt is one upstream call, or a target skipped without a call.
type Attempt struct {
	Deployment string
	// Kind classifies Err; meaningless when Err is nil.
	Kind provider.Kind
	// Status is the upstream HTTP status: 200 on success, 0 when none.
	Status int
	Err    error
	Start  time.Time
	// Duration is the call's length; for a stream, the time to commit.
	Duration time.Duration
	// Skipped is non-empty (a Skip* constant) when no call was made.
	Skipped string
}

// ErrNoTarget is the cause of the error returned when no target could be
// tried: an empty plan, or every target skipped (see the Attempts' Skipped
// reasons). It is wrapped in a *provider.Error of kind context_length when
// targets were skipped for size, unavailable otherwise.
var ErrNoTarget = errors.New("executor: no target can serve the request")

// Chat sends a non-streaming request along the plan. inputTokens is the
// estimated input size, used to skip targets whose context window is too
// small. On failure the error wraps the last attempt's *provider.Error (or
// ErrNoTarget in one); a client cancellation returns an error wrapping the
// context's error. The trace is returned in every case.
func (e *Executor) Chat(ctx context.Context, p *Plan, req *llm.Request, inputTokens int) (*llm.Response, *Trace, error) {
	r := e.newRunner(req, inputTokens)
	resp, err := execute(ctx, r, p, chatOnce)
	return resp, r.finishTrace(), err
}

// chatOnce is one non-streaming chat attempt.
func chatOnce(ctx context.Context, r *runner, t *Target, ds *depState) (*llm.Response, error) {
	return callOnce(ctx, r, t, ds, func(ctx context.Context, r *runner, t *Target) (*llm.Response, error) {
		return t.Provider.Chat(ctx, r.req)
	})
}

// callOnce makes one non-streaming call, bounded by the earlier of the
// target's timeout and the overall deadline (one context, not two: this is
// the hot path). call captures nothing, so it costs no allocation.
func callOnce[T any](ctx context.Context, r *runner, t *Target, ds *depState, call func(context.Context, *runner, *Target) (*T, error)) (*T, error) {
	actx, cancel, attemptBound := r.attemptContext(ctx, t)
	defer cancel()
	ds.enter()
	resp, err := call(actx, r, t)
	ds.leave()
	if err == nil && resp == nil {
		err = &provider.Error{Kind: provider.KindUnavailable, Message: "empty response"}
	}
	if err != nil {
		return nil, r.attemptFailure(ctx, actx, t, attemptBound, err)
	}
	return resp, nil
}

// noChat stands in for the chat request of a walk that sends none (an
// embeddings request): it asks for no output tokens.
var noChat llm.Request

// Embed sends an embeddings request along the plan, with Chat's retries,
// fail-over, circuit breaking, per-attempt timeout and overall deadline.
// inputTokens is the estimated input size, for the context-window check.
func (e *Executor) Embed(ctx context.Context, p *Plan, req *llm.EmbedRequest, inputTokens int) (*llm.EmbedResponse, *Trace, error) {
	return walk(ctx, e, p, inputTokens, "embeddings", func(ctx context.Context, pr provider.Embedder) (*llm.EmbedResponse, error) {
		return pr.Embed(ctx, req)
	})
}

// Moderate sends a moderations request along the plan, as Embed does.
func (e *Executor) Moderate(ctx context.Context, p *Plan, req *llm.ModerationRequest, inputTokens int) (*llm.ModerationResponse, *Trace, error) {
	return walk(ctx, e, p, inputTokens, "moderations", func(ctx context.Context, pr provider.Moderator) (*llm.ModerationResponse, error) {
		return pr.Moderate(ctx, req)
	})
}

// GenerateImages sends an image generation request along the plan, as
// Embed does.
func (e *Executor) GenerateImages(ctx context.Context, p *Plan, req *llm.ImageRequest, inputTokens int) (*llm.ImageResponse, *Trace, error) {
	return walk(ctx, e, p, inputTokens, "image generation", func(ctx context.Context, pr provider.ImageGenerator) (*llm.ImageResponse, error) {
		return pr.GenerateImages(ctx, req)
	})
}

// EditImages sends an image edit or variation along the plan, as Embed
// does.
func (e *Executor) EditImages(ctx context.Context, p *Plan, req *llm.FormRequest, inputTokens int) (*llm.ImageResponse, *Trace, error) {
	return walk(ctx, e, p, inputTokens, "image generation", func(ctx context.Context, pr provider.ImageGenerator) (*llm.ImageResponse, error) {
		return pr.EditImages(ctx, req)
	})
}

// Speak sends a text-to-speech request along the plan, as Embed does.
func (e *Executor) Speak(ctx context.Context, p *Plan, req *llm.SpeechRequest, inputTokens int) (*llm.AudioResponse, *Trace, error) {
	return walk(ctx, e, p, inputTokens, "audio", func(ctx context.Context, pr provider.AudioProvider) (*llm.AudioResponse, error) {
		return pr.Speak(ctx, req)
	})
}

// Transcribe sends a transcription or translation along the plan.
func (e *Executor) Transcribe(ctx context.Context, p *Plan, req *llm.FormRequest, inputTokens int) (*llm.AudioResponse, *Trace, error) {
	return walk(ctx, e, p, inputTokens, "audio", func(ctx context.Context, pr provider.AudioProvider) (*llm.AudioResponse, error) {
		return pr.Transcribe(ctx, req)
	})
}

// CreateVideo starts a Videos API job along the plan, as Embed does.
func (e *Executor) CreateVideo(ctx context.Context, p *Plan, req *llm.VideoRequest, inputTokens int) (*llm.VideoResponse, *Trace, error) {
	return walk(ctx, e, p, inputTokens, "the Videos API", func(ctx context.Context, pr provider.VideoMaker) (*llm.VideoResponse, error) {
		return pr.CreateVideo(ctx, req)
	})
}

// CompactResponse sends a Responses API compaction along the plan, as
// Embed does.
func (e *Executor) CompactResponse(ctx context.Context, p *Plan, req *llm.RelayRequest, inputTokens int) (*llm.RelayResponse, *Trace, error) {
	return walk(ctx, e, p, inputTokens, "response compaction", func(ctx context.Context, pr provider.Compactor) (*llm.RelayResponse, error) {
		return pr.CompactResponse(ctx, req)
	})
}

// Realtime opens a Realtime API session along the plan, as Embed does:
// each handshake is an attempt, with retries, fail-over and circuit
// breaking; the first deployment that accepts serves the whole session
// (it is stateful, so a session that fails later is not moved). The
// caller closes the connection.
func (e *Executor) Realtime(ctx context.Context, p *Plan, req *provider.RealtimeRequest) (*websocket.Conn, *Trace, error) {
	return walk(ctx, e, p, 0, "the Realtime API", func(ctx context.Context, pr provider.RealtimeDialer) (*websocket.Conn, error) {
		return pr.DialRealtime(ctx, req)
	})
}

// walk sends a request that only some providers serve (a P: embeddings,
// moderations, images, audio) along the plan, as Chat does: call makes
// one attempt. A target whose provider is not a P fails as not_found (no
// retry, the next target is tried); what names the request in that error.
func walk[P, T any](ctx context.Context, e *Executor, p *Plan, inputTokens int, what string, call func(context.Context, P) (*T, error)) (*T, *Trace, error) {
	r := e.newRunner(&noChat, inputTokens)
	resp, err := execute(ctx, r, p, func(ctx context.Context, r *runner, t *Target, ds *depState) (*T, error) {
		prov, ok := t.Provider.(P)
		if !ok {
			return nil, &provider.Error{Kind: provider.KindNotFound, Message: "deployment " + t.Deployment + " does not serve " + what}
		}
		return callOnce(ctx, r, t, ds, func(ctx context.Context, _ *runner, _ *Target) (*T, error) { return call(ctx, prov) })
	})
	return resp, r.finishTrace(), err
}

// attemptContext bounds one non-streaming attempt by the earlier of the
// target's timeout and the overall deadline; attemptBound says the
// target's timeout is the nearer one.
func (r *runner) attemptContext(ctx context.Context, t *Target) (actx context.Context, cancel context.CancelFunc, attemptBound bool) {
	switch {
	case r.hardDeadline.IsZero() && t.Timeout > 0:
		return withTimeout(ctx, t.Timeout)
	case t.Timeout > 0 && time.Until(r.hardDeadline) > t.Timeout:
		return withTimeout(ctx, t.Timeout)
	case !r.hardDeadline.IsZero():
		actx, cancel = context.WithDeadline(ctx, r.hardDeadline)
		return actx, cancel, false
	}
	return ctx, func() {}, false
}

// attemptFailure turns an attempt's error into a timeout error naming the
// bound (the target's timeout or the overall deadline) when that bound,
// not the client, cut the attempt short. The provider reports its
// context's end as a bare timeout ("deadline exceeded"), which says
// nothing of which limit fired, so it is replaced, not kept.
func (r *runner) attemptFailure(ctx, actx context.Context, t *Target, attemptBound bool, err error) error {
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		if attemptBound {
			return limitError("attempt", t.Timeout, err)
		}
		return limitError("deadline", r.o.Deadline, err)
	}
	return err
}

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc, bool) {
	c, cancel := context.WithTimeout(ctx, d)
	return c, cancel, true
}

// timeoutError is the error of a call cut by the bound what (lasting d):
// cause itself when it is already a timeout, else limitError's.
func timeoutError(what string, d time.Duration, cause error) error {
	if provider.KindOf(cause) == provider.KindTimeout {
		return cause
	}
	return limitError(what, d, cause)
}

// limitError is a timeout error saying that the bound what, lasting d,
// fired. A timeout cause is unwrapped to its own cause, so the message is
// not followed by the provider's "deadline exceeded".
func limitError(what string, d time.Duration, cause error) error {
	var pe *provider.Error
	if errors.As(cause, &pe) && pe.Kind == provider.KindTimeout && pe.Err != nil {
		cause = pe.Err
	}
	if errors.Is(cause, context.Canceled) {
		// The watchdog's own cancel: not the client leaving, which
		// callers tell by context.Canceled in the chain.
		cause = context.DeadlineExceeded
	}
	return &provider.Error{
		Kind:    provider.KindTimeout,
		Message: fmt.Sprintf("upstream %s timed out after %s", what, d),
		Err:     cause,
	}
}

// Health is a snapshot of one deployment's learned state.
type Health struct {
	// State is "closed", "open" or "half_open" (open, probe allowed or in
	// flight).
	State string
	// TTFT is the EWMA of streams' time to first content event.
	TTFT time.Duration
	// TokensPerSec is the EWMA of streams' output rate after commit.
	TokensPerSec float64
	// OutputTokens is the EWMA of completed streams' output tokens: the
	// deployment's usual answer length.
	OutputTokens float64
	// Latency is the EWMA of successful non-streaming call durations.
	Latency time.Duration
	// InFlight counts attempts in progress, committed streams included.
	InFlight int
	// ConsecutiveFailures counts deployment-caused failures since the last
	// success.
	ConsecutiveFailures int
}

// Health returns the learned state of a deployment; the zero-traffic state
// ("closed", zero stats) for one never used.
func (e *Executor) Health(deployment string) Health {
	v, ok := e.deps.Load(deployment)
	if !ok {
		return Health{State: "closed"}
	}
	o := e.opts.Load()
	return v.(*depState).health(o.Now(), o)
}

func (e *Executor) dep(name string) *depState {
	if v, ok := e.deps.Load(name); ok {
		return v.(*depState)
	}
	v, _ := e.deps.LoadOrStore(name, &depState{changed: func(open bool) {
		if fn := e.onCirc.Load(); fn != nil {
			(*fn)(name, open)
		}
	}})
	return v.(*depState)
}
