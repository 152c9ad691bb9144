package executor

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// step is one scripted call of a fakeProvider.
type step struct {
	resp  *llm.Response
	err   error
	hang  bool          // block until the call's context is done
	after time.Duration // answer after this long (fake time under synctest)
	items []item        // ChatStream: the stream's frames, then io.EOF
	// closeWaits: the stream's Close returns only once the call's
	// context is done, as closing an HTTP body whose upstream holds the
	// connection open does (provider.CloseBody reads the rest first).
	closeWaits bool
}

// item is one scripted frame of a fakeStream.
type item struct {
	ev    llm.Event
	err   error
	hang  bool          // block until the call's context is done
	after time.Duration // deliver after this long
}

// fakeProvider answers calls from a script, one step per call.
type fakeProvider struct {
	mu      sync.Mutex
	steps   []step
	calls   int
	streams []*fakeStream
	entered chan struct{} // if set, receives once per call on entry
}

var _ provider.Provider = (*fakeProvider)(nil)

func script(steps ...step) *fakeProvider { return &fakeProvider{steps: steps} }

func (f *fakeProvider) next() step {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls > len(f.steps) {
		return step{err: errors.New("fake: unscripted call")}
	}
	return f.steps[f.calls-1]
}

func (f *fakeProvider) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// wait blocks as the step says; it returns the context's error if it ends
// first.
func wait(ctx context.Context, hang bool, after time.Duration) error {
	switch {
	case hang:
		<-ctx.Done()
		return ctx.Err()
	case after > 0:
		select {
		case <-time.After(after):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (f *fakeProvider) Chat(ctx context.Context, _ *llm.Request) (*llm.Response, error) {
	s := f.next()
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if err := wait(ctx, s.hang, s.after); err != nil {
		return nil, err
	}
	return s.resp, s.err
}

func (f *fakeProvider) ChatStream(ctx context.Context, _ *llm.Request) (llm.Stream, error) {
	s := f.next()
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if err := wait(ctx, s.hang, s.after); err != nil {
		return nil, err
	}
	if s.err != nil {
		return nil, s.err
	}
	fs := &fakeStream{ctx: ctx, items: s.items, closeWaits: s.closeWaits}
	f.mu.Lock()
	f.streams = append(f.streams, fs)
	f.mu.Unlock()
	return fs, nil
}

func (f *fakeProvider) Dialect() llm.Dialect { return llm.DialectOpenAI }

// stream returns the i-th stream the provider opened.
func (f *fakeProvider) stream(t *testing.T, i int) *fakeStream {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.streams) {
		t.Fatalf("got %d streams, want at least %d", len(f.streams), i+1)
	}
	return f.streams[i]
}

// fakeStream yields scripted frames; it honours its call's context like an
// HTTP body does.
type fakeStream struct {
	ctx        context.Context
	items      []item
	closes     atomic.Int32
	closeWaits bool
}

func (s *fakeStream) Next() (llm.Event, error) {
	if s.closes.Load() > 0 {
		return llm.Event{}, errors.New("fake: read after close")
	}
	if len(s.items) == 0 {
		return llm.Event{}, io.EOF
	}
	it := s.items[0]
	s.items = s.items[1:]
	if err := wait(s.ctx, it.hang, it.after); err != nil {
		return llm.Event{}, err
	}
	return it.ev, it.err
}

func (s *fakeStream) Dialect() llm.Dialect { return llm.DialectOpenAI }

func (s *fakeStream) Close() error {
	if s.closeWaits {
		<-s.ctx.Done()
	}
	s.closes.Add(1)
	return nil
}

func (s *fakeStream) closed() bool { return s.closes.Load() > 0 }

// perr is a classified upstream error.
func perr(k provider.Kind, status int, retryAfter time.Duration) error {
	return &provider.Error{Kind: k, Status: status, RetryAfter: retryAfter, Message: k.String() + " from fake"}
}

func ok(text string) step {
	return step{resp: &llm.Response{Text: text, Usage: llm.Usage{OutputTokens: 10}}}
}

func fail(k provider.Kind) step { return step{err: perr(k, 0, 0)} }

// fakeClock is an injected clock whose Sleep records the wait and advances
// time instantly.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// testOptions uses the clock and a fixed jitter of one half.
func testOptions(c *fakeClock) Options {
	return Options{
		MaxAttempts:          10,
		RetriesPerDeployment: 1,
		BackoffBase:          100 * time.Millisecond,
		BackoffMax:           2 * time.Second,
		MaxRetryAfter:        5 * time.Second,
		Deadline:             time.Minute,
		Now:                  c.Now,
		Sleep:                c.Sleep,
		Rand:                 func() float64 { return 0.5 },
	}
}

// summary renders a trace as "dep:ok", "dep:kind" or "dep:skip:reason".
func summary(tr *Trace) []string {
	var out []string
	for _, a := range tr.Attempts {
		switch {
		case a.Skipped != "":
			out = append(out, a.Deployment+":skip:"+a.Skipped)
		case a.Err == nil:
			out = append(out, a.Deployment+":ok")
		default:
			out = append(out, a.Deployment+":"+a.Kind.String())
		}
	}
	return out
}
