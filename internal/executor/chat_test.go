package executor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// dep describes one target of a table test.
type dep struct {
	name   string
	window int
	steps  []step
}

func TestChatDecisions(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name        string
		opts        func(*Options)
		deps        []dep
		inputTokens int
		maxTokens   int
		want        []string        // trace summary
		wantWaits   []time.Duration // gaps before same-deployment retries
		wantKind    provider.Kind   // when an error is expected
		wantErr     bool
		wantAnswer  string
		wantFallbck int
	}{
		{
			name:       "retry then success",
			deps:       []dep{{name: "a", steps: []step{fail(provider.KindUnavailable), ok("hi")}}},
			want:       []string{"a:unavailable", "a:ok"},
			wantWaits:  []time.Duration{50 * ms}, // 0.5 * 100ms
			wantAnswer: "a",
		},
		{
			name: "exponential full-jitter backoff capped",
			opts: func(o *Options) { o.RetriesPerDeployment = 3; o.BackoffMax = 250 * ms },
			deps: []dep{{name: "a", steps: []step{
				fail(provider.KindConnection), fail(provider.KindRateLimited), fail(provider.KindUnavailable), ok("hi")}}},
			want:       []string{"a:connection", "a:rate_limited", "a:unavailable", "a:ok"},
			wantWaits:  []time.Duration{50 * ms, 100 * ms, 125 * ms},
			wantAnswer: "a",
		},
		{
			name: "retry-after honoured",
			deps: []dep{{name: "a", steps: []step{
				{err: perr(provider.KindRateLimited, 429, 2*time.Second)}, ok("hi")}}},
			want:       []string{"a:rate_limited", "a:ok"},
			wantWaits:  []time.Duration{2 * time.Second},
			wantAnswer: "a",
		},
		{
			name: "jitter longer than retry-after wins",
			opts: func(o *Options) { o.BackoffBase = time.Second },
			deps: []dep{{name: "a", steps: []step{
				{err: perr(provider.KindRateLimited, 429, 100*ms)}, ok("hi")}}},
			want:       []string{"a:rate_limited", "a:ok"},
			wantWaits:  []time.Duration{500 * ms},
			wantAnswer: "a",
		},
		{
			name: "retry-after over cap fails over at once",
			deps: []dep{
				{name: "a", steps: []step{{err: perr(provider.KindRateLimited, 429, 10*time.Second)}}},
				{name: "b", steps: []step{ok("hi")}},
			},
			want:        []string{"a:rate_limited", "b:ok"},
			wantAnswer:  "b",
			wantFallbck: 1,
		},
		{
			name: "retry-after past the deadline fails over at once",
			opts: func(o *Options) { o.Deadline = 3 * time.Second },
			deps: []dep{
				{name: "a", steps: []step{{err: perr(provider.KindRateLimited, 429, 4*time.Second)}}},
				{name: "b", steps: []step{ok("hi")}},
			},
			want:        []string{"a:rate_limited", "b:ok"},
			wantAnswer:  "b",
			wantFallbck: 1,
		},
		{
			name: "retries per deployment exhausted then fallback",
			deps: []dep{
				{name: "a", steps: []step{fail(provider.KindUnavailable), fail(provider.KindUnavailable)}},
				{name: "b", steps: []step{ok("hi")}},
			},
			want:        []string{"a:unavailable", "a:unavailable", "b:ok"},
			wantWaits:   []time.Duration{50 * ms},
			wantAnswer:  "b",
			wantFallbck: 1,
		},
		{
			name: "max attempts bound",
			opts: func(o *Options) { o.MaxAttempts = 3; o.RetriesPerDeployment = 5 },
			deps: []dep{
				{name: "a", steps: []step{fail(provider.KindUnavailable), fail(provider.KindUnavailable), fail(provider.KindUnavailable)}},
				{name: "b", steps: []step{ok("never")}},
			},
			want:      []string{"a:unavailable", "a:unavailable", "a:unavailable"},
			wantWaits: []time.Duration{50 * ms, 100 * ms},
			wantErr:   true,
			wantKind:  provider.KindUnavailable,
		},
		{
			name: "max attempts bound across deployments",
			opts: func(o *Options) { o.MaxAttempts = 2; o.RetriesPerDeployment = 0 },
			deps: []dep{
				{name: "a", steps: []step{fail(provider.KindUnavailable)}},
				{name: "b", steps: []step{fail(provider.KindConnection)}},
				{name: "c", steps: []step{ok("never")}},
			},
			want:     []string{"a:unavailable", "b:connection"},
			wantErr:  true,
			wantKind: provider.KindConnection,
		},
		{
			name: "timeout not retried on the same deployment",
			opts: func(o *Options) { o.RetriesPerDeployment = 3 },
			deps: []dep{
				{name: "a", steps: []step{fail(provider.KindTimeout), ok("never")}},
				{name: "b", steps: []step{ok("hi")}},
			},
			want:        []string{"a:timeout", "b:ok"},
			wantAnswer:  "b",
			wantFallbck: 1,
		},
		{
			name: "auth and quota go to the next target without retry",
			opts: func(o *Options) { o.RetriesPerDeployment = 3 },
			deps: []dep{
				{name: "a", steps: []step{fail(provider.KindAuth)}},
				{name: "b", steps: []step{fail(provider.KindQuota)}},
				{name: "c", steps: []step{ok("hi")}},
			},
			want:        []string{"a:upstream_auth", "b:quota_exhausted", "c:ok"},
			wantAnswer:  "c",
			wantFallbck: 2,
		},
		{
			name: "upstream not found goes to the next target without retry",
			opts: func(o *Options) { o.RetriesPerDeployment = 3 },
			deps: []dep{
				{name: "a", steps: []step{fail(provider.KindNotFound), ok("never")}},
				{name: "b", steps: []step{ok("hi")}},
			},
			want:        []string{"a:not_found", "b:ok"},
			wantAnswer:  "b",
			wantFallbck: 1,
		},
		{
			name:        "target too small skipped before sending",
			inputTokens: 7000, maxTokens: 2000,
			deps: []dep{
				{name: "a", window: 8192, steps: []step{ok("never")}},
				{name: "b", window: 9000, steps: []step{ok("hi")}},
			},
			want:       []string{"a:skip:context_window", "b:ok"},
			wantAnswer: "b",
		},
		{
			name:        "context length skips to a larger fallback",
			inputTokens: 7000,
			deps: []dep{
				{name: "a", window: 8192, steps: []step{fail(provider.KindContextLength)}},
				{name: "b", window: 8192, steps: []step{ok("never")}},
				{name: "c", window: 128000, steps: []step{ok("hi")}},
			},
			want:        []string{"a:context_length", "b:skip:context_window", "c:ok"},
			wantAnswer:  "c",
			wantFallbck: 1,
		},
		{
			name:        "context length with no larger target fails cleanly",
			inputTokens: 7000,
			deps: []dep{
				{name: "a", window: 8192, steps: []step{fail(provider.KindContextLength)}},
				{name: "b", window: 4096, steps: []step{ok("never")}},
			},
			want:     []string{"a:context_length", "b:skip:context_window"},
			wantErr:  true,
			wantKind: provider.KindContextLength,
		},
		{
			name:        "nothing fits",
			inputTokens: 10000,
			deps:        []dep{{name: "a", window: 8192}, {name: "b", window: 4096}},
			want:        []string{"a:skip:context_window", "b:skip:context_window"},
			wantErr:     true,
			wantKind:    provider.KindContextLength,
		},
		{
			name:     "empty plan",
			wantErr:  true,
			wantKind: provider.KindUnavailable,
		},
		{
			name: "content rejected stops",
			deps: []dep{
				{name: "a", steps: []step{fail(provider.KindContentRejected)}},
				{name: "b", steps: []step{ok("never")}},
			},
			want:     []string{"a:content_rejected"},
			wantErr:  true,
			wantKind: provider.KindContentRejected,
		},
		{
			name: "bad request stops",
			deps: []dep{
				{name: "a", steps: []step{fail(provider.KindBadRequest)}},
				{name: "b", steps: []step{ok("never")}},
			},
			want:     []string{"a:bad_request"},
			wantErr:  true,
			wantKind: provider.KindBadRequest,
		},
		{
			name: "unclassified error retried as unknown",
			deps: []dep{{name: "a", steps: []step{{err: errors.New("boom")}, ok("hi")}}},
			want: []string{"a:unknown", "a:ok"}, wantWaits: []time.Duration{50 * ms}, wantAnswer: "a",
		},
		{
			name: "duplicate deployment never visited twice",
			deps: []dep{
				{name: "a", steps: []step{fail(provider.KindTimeout)}},
				{name: "a", steps: []step{ok("never")}},
			},
			want:     []string{"a:timeout", "a:skip:duplicate"},
			wantErr:  true,
			wantKind: provider.KindTimeout,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			opts := testOptions(clock)
			if tt.opts != nil {
				tt.opts(&opts)
			}
			e := New(opts)
			plan := &Plan{Route: "r"}
			fakes := map[string]*fakeProvider{}
			for _, d := range tt.deps {
				f := script(d.steps...)
				if _, dup := fakes[d.name]; !dup {
					fakes[d.name] = f
				}
				plan.Targets = append(plan.Targets, Target{Deployment: d.name, Provider: f, ContextWindow: d.window})
			}
			resp, tr, err := e.Chat(context.Background(), plan, &llm.Request{MaxTokens: tt.maxTokens}, tt.inputTokens)
			if diff := cmp.Diff(tt.want, summary(tr)); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWaits, clock.Waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got nil error, want kind %s", tt.wantKind)
				}
				var pe *provider.Error
				if !errors.As(err, &pe) {
					t.Fatalf("got error %v, want a *provider.Error", err)
				}
				if pe.Kind != tt.wantKind {
					t.Errorf("got kind %s, want %s", pe.Kind, tt.wantKind)
				}
				if resp != nil || tr.Deployment != "" {
					t.Errorf("got response %v from %q, want none", resp, tr.Deployment)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want success", err)
			}
			if tr.Deployment != tt.wantAnswer || resp.Text != "hi" {
				t.Errorf("got %q from %q, want \"hi\" from %q", resp.Text, tr.Deployment, tt.wantAnswer)
			}
			if tr.Fallbacks != tt.wantFallbck {
				t.Errorf("got %d fallbacks, want %d", tr.Fallbacks, tt.wantFallbck)
			}
		})
	}
}

func TestChatErrorCarriesProviderMessage(t *testing.T) {
	clock := newClock()
	e := New(testOptions(clock))
	rej := &provider.Error{Kind: provider.KindContentRejected, Status: 400, Message: "flagged by the safety system"}
	plan := &Plan{Targets: []Target{{Deployment: "a", Provider: script(step{err: rej})}}}
	_, tr, err := e.Chat(context.Background(), plan, &llm.Request{}, 0)
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a *provider.Error", err)
	}
	if pe.Message != rej.Message || pe.Status != 400 {
		t.Errorf("got message %q status %d, want %q 400", pe.Message, pe.Status, rej.Message)
	}
	if got := HTTPStatus(err); got != 400 {
		t.Errorf("got status %d, want 400", got)
	}
	if got := tr.Attempts[0].Status; got != 400 {
		t.Errorf("got attempt status %d, want 400", got)
	}
}

func TestNoTargetError(t *testing.T) {
	e := New(testOptions(newClock()))
	_, _, err := e.Chat(context.Background(), &Plan{}, &llm.Request{}, 0)
	if !errors.Is(err, ErrNoTarget) {
		t.Errorf("got %v, want ErrNoTarget", err)
	}
	if got := HTTPStatus(err); got != 503 {
		t.Errorf("got status %d, want 503", got)
	}
}

func TestSetOptionsKeepsBreakerState(t *testing.T) {
	clock := newClock()
	opts := testOptions(clock)
	opts.BreakerThreshold, opts.BreakerOpenFor, opts.RetriesPerDeployment = 1, time.Minute, 0
	e := New(opts)
	a := script(fail(provider.KindUnavailable))
	plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}, {Deployment: "b", Provider: script(ok("hi"), ok("hi"))}}}
	if _, _, err := e.Chat(context.Background(), plan, &llm.Request{}, 0); err != nil {
		t.Fatalf("got %v, want success", err)
	}
	opts.MaxAttempts = 7
	e.SetOptions(opts)
	if got := e.Health("a").State; got != "open" {
		t.Errorf("got state %q after reload, want open", got)
	}
	_, tr, _ := e.Chat(context.Background(), plan, &llm.Request{}, 0)
	if diff := cmp.Diff([]string{"a:skip:circuit_open", "b:ok"}, summary(tr)); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
}

func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"rate limited", perr(provider.KindRateLimited, 429, time.Second), 429},
		{"unavailable", perr(provider.KindUnavailable, 503, 0), 503},
		{"quota", perr(provider.KindQuota, 429, 0), 503},
		{"timeout", perr(provider.KindTimeout, 0, 0), 504},
		{"connection", perr(provider.KindConnection, 0, 0), 502},
		{"auth", perr(provider.KindAuth, 401, 0), 502},
		{"not found", perr(provider.KindNotFound, 404, 0), 502},
		{"context length", perr(provider.KindContextLength, 400, 0), 400},
		{"content", perr(provider.KindContentRejected, 400, 0), 400},
		{"bad request", perr(provider.KindBadRequest, 422, 0), 400},
		{"client gone", context.Canceled, 499},
		{"unknown", errors.New("x"), 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HTTPStatus(tt.err); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}
