package router

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// TestFastestComparesLikeWithLike: the fastest policy ranks every
// candidate on one measure. A deployment that has also served a stream is
// not scored on TTFT plus 256 tokens of generation against another's
// non-streaming latency (which made a 0.6 s deployment lose to a 2 s one
// after a single streamed request).
func TestFastestComparesLikeWithLike(t *testing.T) {
	cfg, err := config.Parse([]byte(`
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - {name: slow, provider: p, model: m1}
  - {name: medium, provider: p, model: m2}
routes:
  - {name: quick, policy: fastest, targets: [slow, medium], fastest: {explore: 0}}
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		health     map[string]executor.Health
		stream     bool
		maxTokens  int
		want       []string
		wantReason string
	}{
		{name: "latency only", health: map[string]executor.Health{
			"slow":   {State: "closed", Latency: 2 * time.Second},
			"medium": {State: "closed", Latency: 600 * time.Millisecond}},
			want: []string{"medium", "slow"}, wantReason: "quick: fastest medium by non-streaming latency"},
		{name: "one also streamed, request not streamed", health: map[string]executor.Health{
			"slow":   {State: "closed", Latency: 2 * time.Second},
			"medium": {State: "closed", Latency: 600 * time.Millisecond, TTFT: 200 * time.Millisecond, TokensPerSec: 40}},
			want: []string{"medium", "slow"}, wantReason: "by non-streaming latency"},
		{name: "one also streamed, request streamed", stream: true, health: map[string]executor.Health{
			"slow":   {State: "closed", Latency: 2 * time.Second},
			"medium": {State: "closed", Latency: 600 * time.Millisecond, TTFT: 200 * time.Millisecond, TokensPerSec: 40}},
			want: []string{"medium", "slow"}, wantReason: "by non-streaming latency"},
		{name: "all streamed, request streamed", stream: true, health: map[string]executor.Health{
			"slow":   {State: "closed", Latency: 300 * time.Millisecond, TTFT: 1500 * time.Millisecond, TokensPerSec: 40},
			"medium": {State: "closed", TTFT: 200 * time.Millisecond, TokensPerSec: 40}},
			want: []string{"medium", "slow"}, wantReason: "by time to first token and token rate"},
		{name: "streams only, request not streamed", health: map[string]executor.Health{
			"slow":   {State: "closed", TTFT: 900 * time.Millisecond, TokensPerSec: 100},
			"medium": {State: "closed", TTFT: 100 * time.Millisecond, TokensPerSec: 100}},
			want: []string{"medium", "slow"}, wantReason: "by time to first token and token rate"},
		{name: "a rate unknown: time to first token alone", stream: true, health: map[string]executor.Health{
			"slow":   {State: "closed", TTFT: 900 * time.Millisecond},
			"medium": {State: "closed", TTFT: 100 * time.Millisecond, TokensPerSec: 1}},
			want: []string{"medium", "slow"}, wantReason: "quick: fastest medium by time to first token;"},
		{name: "measured on the other kind only ranks as unmeasured", stream: true, health: map[string]executor.Health{
			"slow":   {State: "closed", Latency: 100 * time.Millisecond},
			"medium": {State: "closed", TTFT: 200 * time.Millisecond, TokensPerSec: 40}},
			want: []string{"medium", "slow"}, wantReason: "by time to first token and token rate"},
		// Without max_tokens a stream is timed at each deployment's own
		// observed answer length: 0.1 s + 1000/100 beats 0.5 s + 50/100
		// only when both are taken to write 256 tokens.
		{name: "observed answer length", stream: true, health: map[string]executor.Health{
			"slow":   {State: "closed", TTFT: 100 * time.Millisecond, TokensPerSec: 100, OutputTokens: 1000},
			"medium": {State: "closed", TTFT: 500 * time.Millisecond, TokensPerSec: 100, OutputTokens: 50}},
			want: []string{"medium", "slow"}, wantReason: "by time to first token and token rate"},
		{name: "max_tokens overrides the observed length", stream: true, maxTokens: 20, health: map[string]executor.Health{
			"slow":   {State: "closed", TTFT: 100 * time.Millisecond, TokensPerSec: 100, OutputTokens: 1000},
			"medium": {State: "closed", TTFT: 500 * time.Millisecond, TokensPerSec: 100, OutputTokens: 50}},
			want: []string{"slow", "medium"}, wantReason: "by time to first token and token rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(cfg, Options{Health: func(d string) executor.Health { return tt.health[d] }})
			if err != nil {
				t.Fatal(err)
			}
			dec, err := r.Plan(context.Background(), &llm.Request{Model: "quick", NumMessages: 1, LastUserText: "hi", Stream: tt.stream, MaxTokens: tt.maxTokens}, Info{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, dec.Deployments); diff != "" {
				t.Errorf("deployments (-want +got):\n%s\nreason %q", diff, dec.Reason)
			}
			if !strings.Contains(dec.Reason+";", tt.wantReason) {
				t.Errorf("got reason %q, want it to contain %q", dec.Reason, tt.wantReason)
			}
		})
	}
}
