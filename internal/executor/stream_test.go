package executor

import (
	"context"
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

var (
	evStart = item{ev: llm.Event{Start: true, ID: "m1", Model: "x"}}
	evPing  = item{ev: llm.Event{}}
	evDone  = item{ev: llm.Event{FinishReason: llm.FinishStop, Done: true}}
)

func evText(s string) item { return item{ev: llm.Event{Text: s}} }

// realOptions is for synctest bubbles: real (fake-in-bubble) clock and
// sleep, fixed jitter.
func realOptions() Options {
	return Options{MaxAttempts: 10, RetriesPerDeployment: 1, BackoffBase: 100 * time.Millisecond,
		BackoffMax: time.Second, MaxRetryAfter: 5 * time.Second, Deadline: time.Minute,
		Rand: func() float64 { return 0.5 }}
}

// drain reads a stream to its end and returns the texts and final error.
func drain(s llm.Stream) ([]string, error) {
	var out []string
	for {
		ev, err := s.Next()
		if err != nil {
			return out, err
		}
		switch {
		case ev.Start:
			out = append(out, "<start>")
		case ev.Done:
			out = append(out, "<done>")
		case ev.Text == "":
			out = append(out, "<ping>")
		default:
			out = append(out, ev.Text)
		}
	}
}

func TestStreamCommitReplaysBufferedEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(realOptions())
		a := script(step{items: []item{evStart, {ev: llm.Event{}, after: time.Second}, {ev: llm.Event{Text: "he"}, after: time.Second}, evText("llo"), evDone}})
		plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a, FirstTokenTimeout: 5 * time.Second}}}
		s, tr, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
		if err != nil {
			t.Fatalf("got %v, want a stream", err)
		}
		if tr.TTFT != 2*time.Second || tr.Deployment != "a" {
			t.Errorf("got TTFT %v from %q, want 2s from a", tr.TTFT, tr.Deployment)
		}
		if got := e.Health("a").InFlight; got != 1 {
			t.Errorf("got %d in flight while streaming, want 1", got)
		}
		got, err := drain(s)
		if !errors.Is(err, io.EOF) {
			t.Errorf("got end %v, want io.EOF", err)
		}
		if diff := cmp.Diff([]string{"<start>", "<ping>", "he", "llo", "<done>"}, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		s.Close()
		if !a.stream(t, 0).closed() {
			t.Error("got upstream open after Close, want closed")
		}
		if h := e.Health("a"); h.InFlight != 0 || h.TTFT != 2*time.Second {
			t.Errorf("got in flight %d TTFT %v, want 0 2s", h.InFlight, h.TTFT)
		}
	})
}

func TestStreamFailoverBeforeCommit(t *testing.T) {
	tests := []struct {
		name     string
		opts     func(*Options)
		a        []step
		want     []string
		wantWait []time.Duration // elapsed before commit
	}{
		{
			name: "error before content fails over",
			opts: func(o *Options) { o.RetriesPerDeployment = 0 },
			a:    []step{{items: []item{evStart, {err: perr(provider.KindUnavailable, 0, 0)}}}},
			want: []string{"a:unavailable", "b:ok"},
		},
		{
			name: "error opening the stream is retried",
			a:    []step{fail(provider.KindRateLimited), {items: []item{{err: perr(provider.KindConnection, 0, 0)}}}},
			want: []string{"a:rate_limited", "a:connection", "b:ok"},
		},
		{
			name: "stream ending before content is truncated",
			opts: func(o *Options) { o.RetriesPerDeployment = 0 },
			a:    []step{{items: []item{evStart}}},
			want: []string{"a:unavailable", "b:ok"},
		},
		{
			name: "first token timeout on a stalled stream",
			a:    []step{{items: []item{evStart, {hang: true}}}},
			want: []string{"a:timeout", "b:ok"},
		},
		{
			name: "first token timeout while opening",
			a:    []step{{hang: true}},
			want: []string{"a:timeout", "b:ok"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := realOptions()
				if tt.opts != nil {
					tt.opts(&opts)
				}
				e := New(opts)
				a := script(tt.a...)
				b := script(step{items: []item{evStart, evText("hi"), evDone}})
				plan := &Plan{Targets: []Target{
					{Deployment: "a", Provider: a, FirstTokenTimeout: 5 * time.Second},
					{Deployment: "b", Provider: b, FirstTokenTimeout: 5 * time.Second},
				}}
				s, tr, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
				if err != nil {
					t.Fatalf("got %v, want a stream", err)
				}
				defer s.Close()
				if diff := cmp.Diff(tt.want, summary(tr)); diff != "" {
					t.Errorf("attempts (-want +got):\n%s", diff)
				}
				got, _ := drain(s)
				if diff := cmp.Diff([]string{"<start>", "hi", "<done>"}, got); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
				for i := range a.streams {
					if !a.stream(t, i).closed() {
						t.Errorf("got a's stream %d open, want closed", i)
					}
				}
				if got := e.Health("a").InFlight; got != 0 {
					t.Errorf("got a in flight %d, want 0", got)
				}
			})
		})
	}
}

func TestStreamFirstTokenTimeoutElapsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(realOptions())
		a := script(step{items: []item{evStart, {hang: true}}})
		b := script(step{items: []item{{ev: llm.Event{Text: "hi"}, after: time.Second}, evDone}})
		plan := &Plan{Targets: []Target{
			{Deployment: "a", Provider: a, FirstTokenTimeout: 5 * time.Second},
			{Deployment: "b", Provider: b, FirstTokenTimeout: 5 * time.Second},
		}}
		s, tr, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
		if err != nil {
			t.Fatalf("got %v, want a stream", err)
		}
		defer s.Close()
		if tr.TTFT != 6*time.Second {
			t.Errorf("got TTFT %v, want 6s (5s timeout + 1s)", tr.TTFT)
		}
		if got := tr.Attempts[0].Duration; got != 5*time.Second {
			t.Errorf("got timed-out attempt duration %v, want 5s", got)
		}
		if tr.Fallbacks != 1 {
			t.Errorf("got %d fallbacks, want 1", tr.Fallbacks)
		}
	})
}

// A first-token timeout on every target is a timeout, never mistaken for
// the client leaving (context.Canceled in the chain), which the gateway
// answers with nothing.
func TestStreamFirstTokenTimeoutIsNotCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(realOptions())
		plan := &Plan{Targets: []Target{
			{Deployment: "a", Provider: script(step{items: []item{evStart, {hang: true}}}), FirstTokenTimeout: 2 * time.Second},
			{Deployment: "b", Provider: script(step{items: []item{{hang: true}}}), FirstTokenTimeout: 2 * time.Second},
		}}
		_, _, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
		if provider.KindOf(err) != provider.KindTimeout || errors.Is(err, context.Canceled) {
			t.Errorf("got %v (canceled in chain: %v), want a timeout that is not a cancellation", err, errors.Is(err, context.Canceled))
		}
	})
}

func TestStreamDeadlineBeforeCommitStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := realOptions()
		opts.Deadline = 3 * time.Second
		e := New(opts)
		a := script(step{items: []item{evStart, {hang: true}}})
		b := script(step{items: []item{evText("never")}})
		plan := &Plan{Targets: []Target{
			{Deployment: "a", Provider: a, FirstTokenTimeout: 5 * time.Second},
			{Deployment: "b", Provider: b},
		}}
		start := time.Now()
		_, tr, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
		if provider.KindOf(err) != provider.KindTimeout {
			t.Errorf("got %v, want a timeout", err)
		}
		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("got %v elapsed, want 3s", got)
		}
		if diff := cmp.Diff([]string{"a:timeout"}, summary(tr)); diff != "" {
			t.Errorf("attempts (-want +got):\n%s", diff)
		}
		if got := e.Health("a").ConsecutiveFailures; got != 0 {
			t.Errorf("got %d failures for a deadline cut, want 0", got)
		}
	})
}

func TestStreamCommittedOutlivesDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := realOptions()
		opts.Deadline = 3 * time.Second
		e := New(opts)
		a := script(step{items: []item{evText("a"), {ev: llm.Event{Text: "b"}, after: 2 * time.Second},
			{ev: llm.Event{Text: "c"}, after: 2 * time.Second}, evDone}})
		plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a, IdleTimeout: 5 * time.Second}}}
		s, _, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
		if err != nil {
			t.Fatalf("got %v, want a stream", err)
		}
		defer s.Close()
		got, err := drain(s)
		if !errors.Is(err, io.EOF) {
			t.Errorf("got end %v, want io.EOF", err)
		}
		if diff := cmp.Diff([]string{"a", "b", "c", "<done>"}, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

func TestStreamErrorAfterCommitSurfaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := realOptions()
		opts.BreakerThreshold = 5
		e := New(opts)
		cut := &provider.Error{Kind: provider.KindUnavailable, Message: "overloaded", Err: provider.ErrStreamTruncated}
		a := script(step{items: []item{evStart, evText("par"), {err: cut}}})
		b := script()
		plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}, {Deployment: "b", Provider: b}}}
		s, _, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
		if err != nil {
			t.Fatalf("got %v, want a stream", err)
		}
		defer s.Close()
		got, err := drain(s)
		if diff := cmp.Diff([]string{"<start>", "par"}, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		if !errors.Is(err, cut) {
			t.Errorf("got end %v, want the upstream error", err)
		}
		if _, again := s.Next(); !errors.Is(again, cut) {
			t.Errorf("got %v on a second Next, want the same error", again)
		}
		if b.Calls() != 0 {
			t.Errorf("got %d calls to b after commit, want 0", b.Calls())
		}
		if h := e.Health("a"); h.ConsecutiveFailures != 1 || h.InFlight != 0 {
			t.Errorf("got failures %d in flight %d, want 1 0", h.ConsecutiveFailures, h.InFlight)
		}
	})
}

func TestStreamIdleGap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(realOptions())
		a := script(step{items: []item{evText("a"), {ev: llm.Event{Text: "b"}, after: 2 * time.Second}, {hang: true}}})
		plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a, IdleTimeout: 3 * time.Second}}}
		s, _, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
		if err != nil {
			t.Fatalf("got %v, want a stream", err)
		}
		defer s.Close()
		start := time.Now()
		got, err := drain(s)
		if diff := cmp.Diff([]string{"a", "b"}, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		if provider.KindOf(err) != provider.KindTimeout {
			t.Errorf("got end %v, want a timeout", err)
		}
		var pe *provider.Error
		if !errors.As(err, &pe) {
			t.Errorf("got %T, want a *provider.Error", err)
		}
		if got := time.Since(start); got != 5*time.Second {
			t.Errorf("got %v until the idle error, want 5s (2s gap + 3s idle)", got)
		}
		if !a.stream(t, 0).closed() {
			t.Error("got upstream open after idle timeout, want closed")
		}
	})
}

// The idle watchdog measures each wait for the network on its own: a
// stream whose gaps stay under the idle timeout runs for many timeouts,
// and a client slow to ask for the next event is not an upstream gap.
func TestStreamIdleGapEachWait(t *testing.T) {
	tests := []struct {
		name string
		gap  time.Duration // before each upstream event
		read time.Duration // the client's pause before each Next
		want error         // the stream's end
	}{
		{"gaps under the timeout, for many timeouts", 2900 * time.Millisecond, 0, io.EOF},
		{"a slow client", 0, 10 * time.Second, io.EOF},
		{"a slow client, then a gap over the timeout", 4 * time.Second, 10 * time.Second, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := New(realOptions())
				items := []item{evText("a")}
				for range 10 {
					items = append(items, item{ev: llm.Event{Text: "b"}, after: tt.gap})
				}
				a := script(step{items: append(items, evDone)})
				plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a, IdleTimeout: 3 * time.Second}}}
				s, _, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
				if err != nil {
					t.Fatalf("got %v, want a stream", err)
				}
				defer s.Close()
				start, n := time.Now(), 0
				for ; err == nil; n++ {
					time.Sleep(tt.read)
					_, err = s.Next()
				}
				if tt.want != nil && !errors.Is(err, tt.want) {
					t.Errorf("got end %v after %d events, want %v", err, n, tt.want)
				}
				if tt.want == nil {
					if provider.KindOf(err) != provider.KindTimeout {
						t.Errorf("got end %v after %d events, want a timeout", err, n)
					}
					// The first upstream gap (after "a" and the client's
					// pause) is the first to reach the timeout.
					if got, want := time.Since(start), 10*time.Second+10*time.Second+3*time.Second; got != want {
						t.Errorf("got the timeout after %v, want %v", got, want)
					}
				}
			})
		})
	}
}

func TestStreamHealthRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(realOptions())
		a := script(step{items: []item{evStart, evText("x"),
			{ev: llm.Event{Text: "y", Usage: &llm.Usage{OutputTokens: 100}}, after: 2 * time.Second}, evDone}})
		plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}}}
		s, _, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
		if err != nil {
			t.Fatalf("got %v, want a stream", err)
		}
		drain(s)
		s.Close()
		if got := e.Health("a").TokensPerSec; got != 50 {
			t.Errorf("got %v tokens/s, want 50", got)
		}
		if got := e.Health("a").OutputTokens; got != 100 {
			t.Errorf("got %v mean output tokens, want 100", got)
		}
	})
}

func TestClientCancel(t *testing.T) {
	tests := []struct {
		name   string
		stream bool
		a      step
	}{
		{"chat in flight", false, step{hang: true}},
		{"stream opening", true, step{hang: true}},
		{"stream before commit", true, step{items: []item{evStart, {hang: true}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := realOptions()
				opts.BreakerThreshold = 1
				e := New(opts)
				a := script(tt.a)
				b := script(ok("never"))
				plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}, {Deployment: "b", Provider: b}}}
				ctx, cancel := context.WithCancel(context.Background())
				go func() {
					synctest.Wait() // everything is blocked upstream
					cancel()
				}()
				var err error
				if tt.stream {
					_, _, err = e.Stream(ctx, plan, &llm.Request{Stream: true}, 0)
				} else {
					_, _, err = e.Chat(ctx, plan, &llm.Request{}, 0)
				}
				if !errors.Is(err, context.Canceled) || HTTPStatus(err) != 499 {
					t.Errorf("got %v (status %d), want context.Canceled (499)", err, HTTPStatus(err))
				}
				if b.Calls() != 0 {
					t.Errorf("got %d calls to b, want 0", b.Calls())
				}
				if h := e.Health("a"); h.State != "closed" || h.InFlight != 0 {
					t.Errorf("got state %q in flight %d, want closed 0", h.State, h.InFlight)
				}
			})
		})
	}
}

func TestClientCancelAfterCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := realOptions()
		opts.BreakerThreshold = 1
		e := New(opts)
		a := script(step{items: []item{evText("a"), {hang: true}}})
		plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a, IdleTimeout: time.Hour}}}
		ctx, cancel := context.WithCancel(context.Background())
		s, _, err := e.Stream(ctx, plan, &llm.Request{Stream: true}, 0)
		if err != nil {
			t.Fatalf("got %v, want a stream", err)
		}
		go func() {
			synctest.Wait()
			cancel()
		}()
		_, err = drain(s)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		s.Close()
		s.Close()
		if h := e.Health("a"); h.State != "closed" || h.InFlight != 0 {
			t.Errorf("got state %q in flight %d, want closed 0", h.State, h.InFlight)
		}
	})
}

func TestChatTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := realOptions()
		opts.Deadline = 10 * time.Second
		e := New(opts)
		a := script(step{hang: true})
		b := script(step{hang: true})
		c := script(ok("never"))
		plan := &Plan{Targets: []Target{
			{Deployment: "a", Provider: a, Timeout: 4 * time.Second},
			{Deployment: "b", Provider: b}, // no own timeout: the deadline cuts it
			{Deployment: "c", Provider: c},
		}}
		start := time.Now()
		_, tr, err := e.Chat(context.Background(), plan, &llm.Request{}, 0)
		if provider.KindOf(err) != provider.KindTimeout || HTTPStatus(err) != 504 {
			t.Errorf("got %v, want a timeout (504)", err)
		}
		if got := time.Since(start); got != 10*time.Second {
			t.Errorf("got %v elapsed, want 10s", got)
		}
		if diff := cmp.Diff([]string{"a:timeout", "b:timeout"}, summary(tr)); diff != "" {
			t.Errorf("attempts (-want +got):\n%s", diff)
		}
		if got := tr.Attempts[0].Duration; got != 4*time.Second {
			t.Errorf("got a's attempt %v, want 4s", got)
		}
		if h := e.Health("a"); h.ConsecutiveFailures != 1 {
			t.Errorf("got a failures %d, want 1", h.ConsecutiveFailures)
		}
	})
}

func TestChatLatencyEWMA(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(realOptions())
		a := script(step{resp: &llm.Response{}, after: time.Second}, step{resp: &llm.Response{}, after: 2 * time.Second})
		plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}}}
		for range 2 {
			if _, _, err := e.Chat(context.Background(), plan, &llm.Request{}, 0); err != nil {
				t.Fatalf("got %v, want success", err)
			}
		}
		if got, want := e.Health("a").Latency, 1200*time.Millisecond; got != want {
			t.Errorf("got latency %v, want %v", got, want)
		}
	})
}

func TestStreamCloseFromAnotherGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := realOptions()
		opts.BreakerThreshold = 1
		e := New(opts)
		a := script(step{items: []item{evText("a"), {hang: true}}})
		plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}}}
		s, _, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
		if err != nil {
			t.Fatalf("got %v, want a stream", err)
		}
		go func() {
			synctest.Wait() // the reader is blocked upstream
			s.Close()
		}()
		got, err := drain(s)
		if diff := cmp.Diff([]string{"a"}, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		if err == nil || errors.Is(err, io.EOF) {
			t.Errorf("got %v, want a failure", err)
		}
		if _, err := s.Next(); err == nil {
			t.Error("got nil error after Close, want one")
		}
		if h := e.Health("a"); h.State != "closed" || h.InFlight != 0 || h.ConsecutiveFailures != 0 {
			t.Errorf("got %+v, want closed, nothing in flight, no failures", h)
		}
	})
}

func TestStreamPrecommitBufferBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := realOptions()
		opts.RetriesPerDeployment = 0
		e := New(opts)
		pings := make([]item, maxPrecommit+10)
		a := script(step{items: pings})
		b := script(step{items: []item{evText("hi"), evDone}})
		plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}, {Deployment: "b", Provider: b}}}
		s, tr, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
		if err != nil {
			t.Fatalf("got %v, want a stream", err)
		}
		s.Close()
		if diff := cmp.Diff([]string{"a:unavailable", "b:ok"}, summary(tr)); diff != "" {
			t.Errorf("attempts (-want +got):\n%s", diff)
		}
	})
}

// An upstream that keeps a stream's connection open after it failed, or
// after its last event, must not hold the request: closing a failed
// stream cancels its call first (a failure before commit fails over at
// once, one after it reaches the client at once), and a finished one's
// close reads the rest of its body for drainTimeout at most (found by
// audit L: such a stream waited for the upstream to close, past every
// timeout).
func TestStreamCloseDoesNotWaitForUpstream(t *testing.T) {
	cut := &provider.Error{Kind: provider.KindUnavailable, Message: "overloaded"}
	tests := []struct {
		name    string
		a       step
		wantEnd error
		want    []string
	}{
		{"failed before commit fails over", step{closeWaits: true, items: []item{evStart, {err: cut}}}, io.EOF, []string{"<start>", "from b"}},
		{"failed after commit", step{closeWaits: true, items: []item{evStart, evText("par"), {err: cut}}}, cut, []string{"<start>", "par"}},
		{"finished", step{closeWaits: true, items: []item{evStart, evText("done")}}, io.EOF, []string{"<start>", "done"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := New(realOptions())
				a := script(tt.a)
				b := script(step{items: []item{evStart, evText("from b")}})
				plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}, {Deployment: "b", Provider: b}}}
				start := time.Now()
				s, _, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
				if err != nil {
					t.Fatalf("got %v, want a stream", err)
				}
				got, err := drain(s)
				s.Close()
				if !errors.Is(err, tt.wantEnd) {
					t.Errorf("got end %v, want %v", err, tt.wantEnd)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
				if took := time.Since(start); took > drainTimeout {
					t.Errorf("took %v, want at most %v", took, drainTimeout)
				}
			})
		})
	}
}

// A finished stream's end reaches the caller as soon as upstream's last
// event does: the rest of its body is read by Close, which the gateway
// calls after writing the client's end, so an upstream that holds the
// connection open after its last event does not delay that end; Close
// still reads for drainTimeout at most, and closes upstream once.
func TestStreamEndDoesNotWaitForDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(realOptions())
		a := script(step{closeWaits: true, items: []item{evStart, evText("done")}})
		plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}}}
		start := time.Now()
		s, _, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
		if err != nil {
			t.Fatalf("got %v, want a stream", err)
		}
		if _, err := drain(s); !errors.Is(err, io.EOF) {
			t.Fatalf("got end %v, want EOF", err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("the end came after %v, want at once", took)
		}
		if n := a.streams[0].closes.Load(); n != 0 {
			t.Errorf("upstream closed %d times before Close, want 0", n)
		}
		s.Close()
		s.Close()
		if took := time.Since(start); took != drainTimeout {
			t.Errorf("Close took until %v, want drainTimeout %v", took, drainTimeout)
		}
		if n := a.streams[0].closes.Load(); n != 1 {
			t.Errorf("upstream closed %d times, want 1", n)
		}
	})
}
