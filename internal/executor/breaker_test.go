package executor

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

func breakerOptions(c *fakeClock) Options {
	o := testOptions(c)
	o.RetriesPerDeployment = 0
	o.BreakerThreshold = 2
	o.BreakerOpenFor = 30 * time.Second
	return o
}

func chatSummary(t *testing.T, e *Executor, plan *Plan) []string {
	t.Helper()
	_, tr, _ := e.Chat(context.Background(), plan, &llm.Request{}, 0)
	return summary(tr)
}

func TestBreakerOpensSkipsProbesAndCloses(t *testing.T) {
	clock := newClock()
	e := New(breakerOptions(clock))
	a := script(fail(provider.KindUnavailable), fail(provider.KindTimeout), ok("hi"))
	b := script(ok("hi"), ok("hi"), ok("hi"))
	plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}, {Deployment: "b", Provider: b}}}

	steps := []struct {
		name      string
		advance   time.Duration
		want      []string
		wantState string
		wantFails int
	}{
		{"first failure", 0, []string{"a:unavailable", "b:ok"}, "closed", 1},
		{"threshold opens", 0, []string{"a:timeout", "b:ok"}, "open", 2},
		{"open is skipped", 29 * time.Second, []string{"a:skip:circuit_open", "b:ok"}, "half_open", 2},
		{"half-open probe succeeds and closes", time.Second, []string{"a:ok"}, "closed", 0},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		got := chatSummary(t, e, plan)
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("%s: attempts (-want +got):\n%s", s.name, diff)
		}
		h := e.Health("a")
		if s.name == "open is skipped" {
			// Still open when skipped; it turns half-open once OpenFor passed.
			clock.Advance(time.Second)
			h = e.Health("a")
			clock.Advance(-time.Second)
		}
		if h.State != s.wantState || h.ConsecutiveFailures != s.wantFails {
			t.Errorf("%s: got state %q failures %d, want %q %d", s.name, h.State, h.ConsecutiveFailures, s.wantState, s.wantFails)
		}
	}
	if got := a.Calls(); got != 3 {
		t.Errorf("got %d calls to a, want 3", got)
	}
}

func TestBreakerFailedProbeReopens(t *testing.T) {
	clock := newClock()
	e := New(breakerOptions(clock))
	a := script(fail(provider.KindUnavailable), fail(provider.KindUnavailable), fail(provider.KindConnection))
	b := script(ok("hi"), ok("hi"), ok("hi"), ok("hi"))
	plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}, {Deployment: "b", Provider: b}}}
	chatSummary(t, e, plan)
	chatSummary(t, e, plan)
	clock.Advance(30 * time.Second)
	if diff := cmp.Diff([]string{"a:connection", "b:ok"}, chatSummary(t, e, plan)); diff != "" {
		t.Errorf("probe: attempts (-want +got):\n%s", diff)
	}
	clock.Advance(29 * time.Second) // the failed probe restarted the open period
	if diff := cmp.Diff([]string{"a:skip:circuit_open", "b:ok"}, chatSummary(t, e, plan)); diff != "" {
		t.Errorf("after failed probe: attempts (-want +got):\n%s", diff)
	}
	if got := e.Health("a").State; got != "open" {
		t.Errorf("got state %q, want open", got)
	}
}

func TestBreakerOneProbeAtATime(t *testing.T) {
	clock := newClock()
	e := New(breakerOptions(clock))
	a := script(fail(provider.KindUnavailable), fail(provider.KindUnavailable), ok("hi"))
	b := script(ok("hi"), ok("hi"), ok("hi"))
	plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}, {Deployment: "b", Provider: b}}}
	chatSummary(t, e, plan)
	chatSummary(t, e, plan)
	clock.Advance(30 * time.Second)

	a.entered = make(chan struct{}, 4)
	a.steps[2].hang = true // the probe waits for its context
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []string)
	go func() {
		_, tr, _ := e.Chat(ctx, plan, &llm.Request{}, 0)
		done <- summary(tr)
	}()
	<-a.entered // the probe is in flight
	if got := e.Health("a").State; got != "half_open" {
		t.Errorf("got state %q during probe, want half_open", got)
	}
	if diff := cmp.Diff([]string{"a:skip:circuit_open", "b:ok"}, chatSummary(t, e, plan)); diff != "" {
		t.Errorf("during probe: attempts (-want +got):\n%s", diff)
	}
	cancel()
	<-done
	// A probe cut short by the client is neutral: the next request probes.
	a.steps = append(a.steps, ok("hi"))
	if diff := cmp.Diff([]string{"a:ok"}, chatSummary(t, e, plan)); diff != "" {
		t.Errorf("after cancelled probe: attempts (-want +got):\n%s", diff)
	}
}

func TestBreakerIgnoresRequestCausedErrors(t *testing.T) {
	tests := []struct {
		name string
		kind provider.Kind
	}{
		{"bad request", provider.KindBadRequest},
		{"context length", provider.KindContextLength},
		{"content rejected", provider.KindContentRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			opts := breakerOptions(clock)
			opts.BreakerThreshold = 1
			e := New(opts)
			a := script(fail(tt.kind), fail(tt.kind), fail(tt.kind))
			plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}}}
			for range 3 {
				chatSummary(t, e, plan)
			}
			h := e.Health("a")
			if h.State != "closed" || h.ConsecutiveFailures != 0 {
				t.Errorf("got state %q failures %d, want closed 0", h.State, h.ConsecutiveFailures)
			}
			if got := a.Calls(); got != 3 {
				t.Errorf("got %d calls, want 3", got)
			}
		})
	}
}

func TestBreakerAllOpenProbesFirstTarget(t *testing.T) {
	clock := newClock()
	opts := breakerOptions(clock)
	opts.BreakerThreshold = 1
	e := New(opts)
	a := script(fail(provider.KindUnavailable), fail(provider.KindUnavailable), ok("hi"))
	b := script(fail(provider.KindUnavailable))
	plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}, {Deployment: "b", Provider: b}}}

	if diff := cmp.Diff([]string{"a:unavailable", "b:unavailable"}, chatSummary(t, e, plan)); diff != "" {
		t.Errorf("opening: attempts (-want +got):\n%s", diff)
	}
	_, tr, err := e.Chat(context.Background(), plan, &llm.Request{}, 0)
	want := []string{"a:skip:circuit_open", "b:skip:circuit_open", "a:unavailable"}
	if diff := cmp.Diff(want, summary(tr)); diff != "" {
		t.Errorf("all open: attempts (-want +got):\n%s", diff)
	}
	if provider.KindOf(err) != provider.KindUnavailable || errors.Is(err, ErrNoTarget) {
		t.Errorf("got %v, want the forced attempt's unavailable error", err)
	}
	if diff := cmp.Diff([]string{"a:skip:circuit_open", "b:skip:circuit_open", "a:ok"}, chatSummary(t, e, plan)); diff != "" {
		t.Errorf("forced success: attempts (-want +got):\n%s", diff)
	}
	if got := e.Health("a").State; got != "closed" {
		t.Errorf("got state %q, want closed", got)
	}
}

func TestBreakerStopsRetriesWhenItOpens(t *testing.T) {
	clock := newClock()
	opts := breakerOptions(clock)
	opts.RetriesPerDeployment = 5
	e := New(opts)
	a := script(fail(provider.KindUnavailable), fail(provider.KindUnavailable), ok("never"))
	plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}, {Deployment: "b", Provider: script(ok("hi"))}}}
	if diff := cmp.Diff([]string{"a:unavailable", "a:unavailable", "b:ok"}, chatSummary(t, e, plan)); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
}

func TestCircuitChangesAreReportedAndApplied(t *testing.T) {
	clock := newClock()
	e := New(breakerOptions(clock))
	type change struct {
		dep  string
		open bool
	}
	var got []change
	e.OnCircuit(func(dep string, open bool) { got = append(got, change{dep, open}) })
	a := script(fail(provider.KindUnavailable), fail(provider.KindUnavailable), ok("hi"))
	plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}}}
	chatSummary(t, e, plan)
	if len(got) != 0 {
		t.Fatalf("one failure under the threshold reported %v", got)
	}
	chatSummary(t, e, plan) // the threshold: opens
	clock.Advance(30 * time.Second)
	chatSummary(t, e, plan) // the half-open probe succeeds: closes
	if want := []change{{"a", true}, {"a", false}}; !cmp.Equal(got, want, cmp.AllowUnexported(change{})) {
		t.Errorf("reported changes: got %v, want %v", got, want)
	}

	// Another replica's changes apply here without being reported back.
	got = nil
	e.RemoteCircuit("b", true)
	if s := e.Health("b").State; s != "open" {
		t.Errorf("after a remote open: state %q, want open", s)
	}
	clock.Advance(30 * time.Second)
	if s := e.Health("b").State; s != "half_open" {
		t.Errorf("a remote open lasts BreakerOpenFor like a local one: state %q, want half_open", s)
	}
	e.RemoteCircuit("b", false)
	if h := e.Health("b"); h.State != "closed" || h.ConsecutiveFailures != 0 {
		t.Errorf("after a remote close: %+v, want closed", h)
	}
	// A starting replica restores a circuit for what is left of its
	// open period, and not one whose period is over.
	e.RestoreCircuit("c", clock.Now().Add(-20*time.Second))
	if s := e.Health("c").State; s != "open" {
		t.Errorf("restored 20s into a 30s open period: state %q, want open", s)
	}
	clock.Advance(10 * time.Second)
	if s := e.Health("c").State; s != "half_open" {
		t.Errorf("10s later: state %q, want half_open (the period counts from the original opening)", s)
	}
	e.RestoreCircuit("d", clock.Now().Add(-30*time.Second))
	if s := e.Health("d").State; s != "closed" {
		t.Errorf("restored after its open period: state %q, want closed", s)
	}
	if len(got) != 0 {
		t.Errorf("remote changes were reported: %v", got)
	}
}

// TestNoWaitForARetryTheCircuitRefuses: a rate-limited answer whose
// Retry-After the executor would wait out, from a deployment whose circuit
// is open (the forced probe of an all-open plan), fails at once: the
// retry would be refused, so the wait would only delay the error.
func TestNoWaitForARetryTheCircuitRefuses(t *testing.T) {
	clock := newClock()
	opts := breakerOptions(clock)
	opts.BreakerThreshold = 1
	opts.RetriesPerDeployment = 2
	e := New(opts)
	a := script(fail(provider.KindUnavailable), step{err: perr(provider.KindRateLimited, 429, time.Second)}, ok("never"))
	plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}}}
	chatSummary(t, e, plan) // opens a's circuit
	clock.mu.Lock()
	clock.waits = nil
	clock.mu.Unlock()
	got := chatSummary(t, e, plan)
	if diff := cmp.Diff([]string{"a:skip:circuit_open", "a:rate_limited"}, got); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	if len(clock.waits) != 0 {
		t.Errorf("waited %v for a retry the open circuit refuses", clock.waits)
	}
}

// Streams that break after their first token count as failures: a
// deployment whose every stream is cut opens its circuit at the threshold
// (commit is not a success that resets the count); a stream that ends
// cleanly closes a half-open circuit, and one the client closes early
// gives no verdict but frees the probe.
func TestBreakerCountsStreamsBrokenAfterCommit(t *testing.T) {
	clock := newClock()
	e := New(breakerOptions(clock))
	cut := step{items: []item{evText("partial"), {err: perr(provider.KindUnavailable, 0, 0)}}}
	a := script(cut, cut, step{items: []item{evText("early")}}, step{items: []item{evText("whole"), evDone}})
	b := script(step{items: []item{evText("b"), evDone}})
	plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}, {Deployment: "b", Provider: b}}}
	stream := func() (string, error) {
		s, tr, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		_, err = drain(s)
		s.Close()
		return tr.Deployment, err
	}
	for i := range 2 {
		if dep, err := stream(); dep != "a" || provider.KindOf(err) != provider.KindUnavailable {
			t.Fatalf("cut %d: got %s, %v; want a cut stream from a", i, dep, err)
		}
	}
	if h := e.Health("a"); h.State != "open" || h.ConsecutiveFailures != 2 {
		t.Fatalf("after two cut streams: state %q failures %d, want open 2", h.State, h.ConsecutiveFailures)
	}
	if dep, err := stream(); dep != "b" || !errors.Is(err, io.EOF) {
		t.Errorf("open circuit: got %s, %v; want b", dep, err)
	}
	clock.Advance(30 * time.Second)
	// The probe's client closes the stream before its end: no verdict, and
	// the probe is free again for the next request.
	s, tr, err := e.Stream(context.Background(), plan, &llm.Request{Stream: true}, 0)
	if err != nil || tr.Deployment != "a" {
		t.Fatalf("probe: got %v via %s, want a", err, tr.Deployment)
	}
	s.Next()
	s.Close()
	if h := e.Health("a"); h.State != "half_open" {
		t.Errorf("after an early close: state %q, want half_open", h.State)
	}
	if dep, err := stream(); dep != "a" || !errors.Is(err, io.EOF) {
		t.Errorf("second probe: got %s, %v; want a whole stream from a", dep, err)
	}
	if h := e.Health("a"); h.State != "closed" || h.ConsecutiveFailures != 0 {
		t.Errorf("after a whole stream: state %q failures %d, want closed 0", h.State, h.ConsecutiveFailures)
	}
}
