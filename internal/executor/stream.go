package executor

import (
	"context"
	"errors"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// Stream sends a streaming request along the plan and returns the stream
// once it is committed: at its first content event (llm.Event.HasContent).
// Until then a failure, a first-token timeout or a stream that ends early
// fails over like a non-streaming error; events before the first content
// event are buffered and replayed by the returned stream. After commit the
// returned stream enforces the target's IdleTimeout and returns later
// upstream errors from Next as they are. The caller closes the stream.
// Errors are as for Chat.
func (e *Executor) Stream(ctx context.Context, p *Plan, req *llm.Request, inputTokens int) (llm.Stream, *Trace, error) {
	r := e.newRunner(req, inputTokens)
	r.stream = true
	s, err := execute(ctx, r, p, streamOnce)
	return s, r.finishTrace(), err
}

// SpeakStream sends a streamed text-to-speech request along the plan, as
// Stream does, to the targets whose provider streams audio.
func (e *Executor) SpeakStream(ctx context.Context, p *Plan, req *llm.SpeechRequest, inputTokens int) (llm.Stream, *Trace, error) {
	return streamWalk(ctx, e, p, inputTokens, func(ctx context.Context, pr provider.AudioStreamer) (llm.Stream, error) {
		return pr.SpeakStream(ctx, req)
	})
}

// TranscribeStream sends a streamed transcription along the plan, as
// Stream does, to the targets whose provider streams audio.
func (e *Executor) TranscribeStream(ctx context.Context, p *Plan, req *llm.FormRequest, inputTokens int) (llm.Stream, *Trace, error) {
	return streamWalk(ctx, e, p, inputTokens, func(ctx context.Context, pr provider.AudioStreamer) (llm.Stream, error) {
		return pr.TranscribeStream(ctx, req)
	})
}

// GenerateImagesStream sends a streamed image generation along the plan,
// as Stream does, to the targets whose provider streams images.
func (e *Executor) GenerateImagesStream(ctx context.Context, p *Plan, req *llm.ImageRequest, inputTokens int) (llm.Stream, *Trace, error) {
	return streamWalk(ctx, e, p, inputTokens, func(ctx context.Context, pr provider.ImageStreamer) (llm.Stream, error) {
		return pr.GenerateImagesStream(ctx, req)
	})
}

// EditImagesStream sends a streamed image edit along the plan, as Stream
// does, to the targets whose provider streams images.
func (e *Executor) EditImagesStream(ctx context.Context, p *Plan, req *llm.FormRequest, inputTokens int) (llm.Stream, *Trace, error) {
	return streamWalk(ctx, e, p, inputTokens, func(ctx context.Context, pr provider.ImageStreamer) (llm.Stream, error) {
		return pr.EditImagesStream(ctx, req)
	})
}

// streamWalk sends a streaming request that only some providers serve (a
// P) along the plan, as Stream does: open starts one attempt's stream. A
// target whose provider is not a P fails as not_found (the next target is
// tried).
func streamWalk[P any](ctx context.Context, e *Executor, p *Plan, inputTokens int, open func(context.Context, P) (llm.Stream, error)) (llm.Stream, *Trace, error) {
	r := e.newRunner(&noChat, inputTokens)
	r.stream = true
	r.open = func(ctx context.Context, t *Target) (llm.Stream, error) {
		prov, ok := t.Provider.(P)
		if !ok {
			return nil, &provider.Error{Kind: provider.KindNotFound, Message: "deployment " + t.Deployment + " does not stream this answer"}
		}
		return open(ctx, prov)
	}
	s, err := execute(ctx, r, p, streamOnce)
	return s, r.finishTrace(), err
}

// maxPrecommit bounds the events buffered before commit, so a provider
// that only sends pings cannot grow the buffer until the first-token
// timeout.
const maxPrecommit = 256

// streamOnce is one streaming attempt, up to commit. One watchdog timer
// bounds it by the earlier of the first-token timeout and the overall
// deadline; it is stopped at commit, so a committed stream outlives the
// deadline.
func streamOnce(ctx context.Context, r *runner, t *Target, ds *depState) (llm.Stream, error) {
	actx, cancel := context.WithCancel(ctx)
	d, deadlineBound := t.FirstTokenTimeout, false
	if !r.hardDeadline.IsZero() {
		if rem := time.Until(r.hardDeadline); d <= 0 || rem < d {
			d, deadlineBound = max(rem, 0), true
		}
	}
	var fired atomic.Bool
	var timer *time.Timer
	if d > 0 || deadlineBound {
		timer = time.AfterFunc(d, func() {
			fired.Store(true)
			cancel()
		})
	}
	// stop stops the watchdog; false when it already fired.
	stop := func() bool { return timer == nil || timer.Stop() }
	fail := func(s llm.Stream, err error) (llm.Stream, error) {
		stop()
		// Cancelled before the close: a failed stream's connection is
		// not kept, so its close must not wait for an upstream that
		// holds it open (provider.CloseBody reads what is left).
		cancel()
		if s != nil {
			s.Close()
		}
		ds.leave()
		switch {
		case fired.Load() && deadlineBound:
			err = timeoutError("deadline", r.o.Deadline, err)
		case fired.Load():
			err = timeoutError("first token", t.FirstTokenTimeout, err)
		}
		return nil, err
	}

	start := r.o.Now()
	ds.enter()
	var s llm.Stream
	var err error
	if r.open != nil {
		s, err = r.open(actx, t)
	} else {
		s, err = t.Provider.ChatStream(actx, r.req)
	}
	if err == nil && s == nil {
		err = &provider.Error{Kind: provider.KindUnavailable, Message: "empty stream"}
	}
	if err != nil {
		return fail(nil, err)
	}
	// Room for the events a stream usually sends before its first
	// content (OpenAI's role chunk; Anthropic's message and block starts):
	// one allocation instead of one per growth.
	buf := make([]llm.Event, 0, 4)
	for {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			err = &provider.Error{Kind: provider.KindUnavailable, Message: "stream ended before any content", Err: provider.ErrStreamTruncated}
		}
		if err != nil {
			return fail(s, err)
		}
		buf = append(buf, ev)
		if !ev.HasContent() {
			if len(buf) > maxPrecommit {
				return fail(s, &provider.Error{Kind: provider.KindUnavailable, Message: "too many events before any content"})
			}
			continue
		}
		if !stop() {
			// A watchdog fired as content arrived: the attempt's context
			// is already cancelled, so the stream is dead.
			return fail(s, context.Canceled)
		}
		now := r.o.Now()
		ds.observeTTFT(now.Sub(start))
		r.tr.TTFT = now.Sub(r.start)
		return newCommitted(r, t, ds, s, buf, cancel, actx.Err, now), nil
	}
}

// drainTimeout bounds how long closing a finished stream reads the rest
// of its upstream body (the end of its chunked encoding), so that its
// connection can be reused.
const drainTimeout = 250 * time.Millisecond

// committed is a stream after commit: it replays the buffered events, then
// reads upstream under an idle watchdog.
type committed struct {
	up      llm.Stream
	pending []llm.Event
	cancel  context.CancelFunc
	ctxErr  func() error // the attempt context's Err
	idle    time.Duration
	timer   *time.Timer // the idle watchdog (see watch)
	epoch   time.Time   // the commit, on the monotonic clock
	// waitSince is when Next began waiting for the network (nanoseconds
	// since epoch, plus one), 0 while it is not waiting.
	waitSince atomic.Int64
	// ended: the stream's accounting is settled; the watchdog stops.
	ended  atomic.Bool
	fired  atomic.Bool
	closed atomic.Bool
	// drainPending: the stream ended with its last event and Close is to
	// read the rest of its body.
	drainPending atomic.Bool
	err          error // sticky terminal result

	o         *Options
	ds        *depState
	ticket    ticket // the breaker's admission, settled by finish
	committed time.Time
	outTokens int
	once      sync.Once
}

var _ llm.Stream = (*committed)(nil)

func newCommitted(r *runner, t *Target, ds *depState, up llm.Stream, buf []llm.Event, cancel context.CancelFunc, ctxErr func() error, now time.Time) *committed {
	c := &committed{up: up, pending: buf, cancel: cancel, ctxErr: ctxErr, idle: t.IdleTimeout, o: r.o, ds: ds, ticket: r.ticket, committed: now}
	if c.idle > 0 {
		c.epoch = time.Now()
		// Set once c.timer is, which watch uses.
		c.timer = time.AfterFunc(math.MaxInt64, c.watch)
		c.timer.Reset(c.idle)
	}
	return c
}

// watch is the idle watchdog's timer. It runs while the stream lasts, at
// most once an idle period, instead of being set and stopped around every
// wait for the network (two timer operations a streamed token, which cost
// more than the token's decoding): it ends the stream when Next has been
// waiting for idle, and otherwise sets itself for when the current wait,
// or a wait that begins now, would be idle for that long. So the stream
// ends when a wait reaches idle, as with a timer set for each wait, never
// earlier.
func (c *committed) watch() {
	if c.ended.Load() {
		return
	}
	next := c.idle
	if since := c.waitSince.Load(); since != 0 {
		waited := time.Since(c.epoch) - time.Duration(since-1)
		if waited >= c.idle {
			c.fired.Store(true)
			c.cancel()
			return
		}
		next = c.idle - waited
	}
	// A Reset racing finish's Stop leaves one more run, which sees ended.
	c.timer.Reset(next)
}

// Next returns the buffered events, then upstream events. An idle gap
// longer than the target's IdleTimeout ends the stream with a timeout
// *provider.Error.
func (c *committed) Next() (llm.Event, error) {
	if c.err != nil {
		return llm.Event{}, c.err
	}
	if c.closed.Load() {
		return llm.Event{}, errClosed
	}
	if len(c.pending) > 0 {
		ev := c.pending[0]
		c.pending[0] = llm.Event{}
		c.pending = c.pending[1:]
		c.count(&ev)
		return ev, nil
	}
	if c.fired.Load() {
		return llm.Event{}, c.end(c.idleError(nil))
	}
	// The idle watchdog only matters when Next may wait for the network:
	// an event already in memory is returned at once.
	waits := c.timer != nil && !c.upBuffered()
	if waits {
		c.waitSince.Store(int64(time.Since(c.epoch)) + 1)
	}
	ev, err := c.up.Next()
	if waits {
		c.waitSince.Store(0)
	}
	if err != nil {
		if c.fired.Load() {
			err = c.idleError(err)
		}
		return llm.Event{}, c.end(err)
	}
	c.count(&ev)
	return ev, nil
}

func (c *committed) idleError(cause error) error {
	if cause == nil {
		cause = context.Canceled
	}
	return timeoutError("idle gap", c.idle, cause)
}

func (c *committed) count(ev *llm.Event) {
	if ev.Usage != nil {
		c.outTokens = ev.Usage.OutputTokens
	}
}

// end makes err the stream's sticky result and settles the accounting.
func (c *committed) end(err error) error {
	c.err = err
	c.finish(err)
	return err
}

// finish releases the upstream call and records the stream's outcome once.
func (c *committed) finish(err error) {
	c.once.Do(func() {
		clientGone := c.ctxErr() != nil && !c.fired.Load()
		c.ended.Store(true)
		if c.timer != nil {
			c.timer.Stop()
		}
		if errors.Is(err, io.EOF) {
			// A finished stream's connection may be reused once the rest
			// of its body is read: Close does that, after the caller has
			// written the client's end.
			c.drainPending.Store(true)
		} else {
			// A failed or abandoned stream's connection is not kept:
			// nothing to wait for.
			c.cancel()
			c.up.Close()
		}
		c.ds.leave()
		now := c.o.Now()
		// The breaker hears of a stream when it ends, not when it
		// commits: a deployment whose streams all break after their
		// first token is failing, and must open its circuit.
		switch {
		case errors.Is(err, io.EOF):
			c.ds.observeRate(c.outTokens, now.Sub(c.committed))
			c.ds.result(c.o, outcomeSuccess, c.ticket)
		case err != nil && !clientGone:
			c.ds.result(c.o, outcomeOf(provider.KindOf(err)), c.ticket)
		default: // closed early, or the client left: no verdict
			c.ds.result(c.o, outcomeNeutral, c.ticket)
		}
	})
}

// Dialect is the upstream stream's dialect.
func (c *committed) Dialect() llm.Dialect { return c.up.Dialect() }

// Close releases the upstream connection. Safe to call more than once, and
// from another goroutine than Next's: it cancels the attempt's context first,
// which makes a blocked Next return.
//
// Closing a stream that ended with its last event reads the rest of its
// upstream body (provider.CloseBody), so that the connection can be
// reused, for drainTimeout at most: an upstream that holds the connection
// open after its last event never ends that read. The caller closes after
// writing the client's end, so the client does not wait for it.
func (c *committed) Close() error {
	c.closed.Store(true)
	if !c.drainPending.Load() {
		c.cancel()
	}
	c.finish(nil)
	if c.drainPending.CompareAndSwap(true, false) {
		t := time.AfterFunc(drainTimeout, c.cancel)
		c.up.Close()
		t.Stop()
		c.cancel()
	}
	return nil
}

var errClosed = errors.New("executor: stream closed")

// Buffered reports whether the next event is already in memory: a replayed
// pre-commit event, or upstream bytes read but not yet decoded.
func (c *committed) Buffered() bool {
	return len(c.pending) > 0 || c.upBuffered()
}

// upBuffered reports whether the upstream's next event is in memory.
func (c *committed) upBuffered() bool {
	b, ok := c.up.(llm.Buffering)
	return ok && b.Buffered()
}

var _ llm.Buffering = (*committed)(nil)

// SetPassthrough passes the hint on to the upstream stream (llm.Passthrough).
func (c *committed) SetPassthrough() {
	if p, ok := c.up.(llm.Passthrough); ok {
		p.SetPassthrough()
	}
}

var _ llm.Passthrough = (*committed)(nil)
