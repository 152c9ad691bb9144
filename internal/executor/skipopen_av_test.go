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

// A SkipOpen plan (a cascade stage, a side call) skips its open target
// and fails at once, request after request, where a whole plan would
// force a probe; after BreakerOpenFor one request probes it, and only one
// while that probe is in flight (found by audit AV, AV1).
func TestSkipOpenPlanFailsFastAndProbesOnce(t *testing.T) {
	clock := newClock()
	opts := breakerOptions(clock)
	opts.BreakerThreshold = 1
	e := New(opts)
	a := script(fail(provider.KindTimeout), ok("probe"), ok("after"))
	plan := &Plan{Targets: []Target{{Deployment: "a", Provider: a}}, SkipOpen: true}

	if diff := cmp.Diff([]string{"a:timeout"}, chatSummary(t, e, plan)); diff != "" {
		t.Errorf("opening: attempts (-want +got):\n%s", diff)
	}
	for i := range 3 {
		clock.Advance(9 * time.Second)
		_, tr, err := e.Chat(context.Background(), plan, &llm.Request{}, 0)
		if diff := cmp.Diff([]string{"a:skip:circuit_open"}, summary(tr)); diff != "" {
			t.Errorf("open, request %d: attempts (-want +got):\n%s", i, diff)
		}
		if !errors.Is(err, ErrNoTarget) || provider.KindOf(err) != provider.KindUnavailable {
			t.Errorf("open, request %d: got %v, want ErrNoTarget of kind unavailable", i, err)
		}
	}
	if got := a.Calls(); got != 1 {
		t.Fatalf("got %d calls while open, want 1 (the one that opened it)", got)
	}

	clock.Advance(3 * time.Second) // 30s since it opened: half-open
	a.entered = make(chan struct{}, 4)
	a.steps[1].hang = true // the probe waits for its context
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []string)
	go func() {
		_, tr, _ := e.Chat(ctx, plan, &llm.Request{}, 0)
		done <- summary(tr)
	}()
	<-a.entered
	if diff := cmp.Diff([]string{"a:skip:circuit_open"}, chatSummary(t, e, plan)); diff != "" {
		t.Errorf("during the probe: attempts (-want +got):\n%s", diff)
	}
	cancel()
	<-done
	// The cut probe was neutral: the next request probes, succeeds and
	// closes the circuit.
	if diff := cmp.Diff([]string{"a:ok"}, chatSummary(t, e, plan)); diff != "" {
		t.Errorf("probe: attempts (-want +got):\n%s", diff)
	}
	if got := e.Health("a").State; got != "closed" {
		t.Errorf("got state %q, want closed", got)
	}
}
