package router

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// TestCheapestTieComparesLikeWithLike: equal-priced deployments are
// ranked on one latency measure, as fastest picks it, not one's streaming
// time to first token against the other's whole non-streaming answer (a
// single stream to the slower deployment made it win every tie after).
func TestCheapestTieComparesLikeWithLike(t *testing.T) {
	cfg, err := config.Parse([]byte(`
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - {name: fast, provider: p, model: m1, price: {input_per_mtok: 1, output_per_mtok: 2}}
  - {name: slow, provider: p, model: m2, price: {input_per_mtok: 1, output_per_mtok: 2}}
routes:
  - {name: cheap, policy: cheapest, targets: [slow, fast]}
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		health map[string]executor.Health
		stream bool
		want   []string
	}{
		{name: "slow also streamed, request not streamed", health: map[string]executor.Health{
			"fast": {State: "closed", Latency: 500 * time.Millisecond},
			"slow": {State: "closed", Latency: 1300 * time.Millisecond, TTFT: 300 * time.Millisecond}},
			want: []string{"fast", "slow"}},
		{name: "both streamed, request streamed", stream: true, health: map[string]executor.Health{
			"fast": {State: "closed", Latency: 500 * time.Millisecond, TTFT: 50 * time.Millisecond},
			"slow": {State: "closed", Latency: 100 * time.Millisecond, TTFT: 300 * time.Millisecond}},
			want: []string{"fast", "slow"}},
		{name: "both streamed, request not streamed", health: map[string]executor.Health{
			"fast": {State: "closed", Latency: 500 * time.Millisecond, TTFT: 50 * time.Millisecond},
			"slow": {State: "closed", Latency: 1300 * time.Millisecond, TTFT: 30 * time.Millisecond}},
			want: []string{"fast", "slow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(cfg, Options{Health: func(d string) executor.Health { return tt.health[d] }})
			if err != nil {
				t.Fatal(err)
			}
			req := &llm.Request{Model: "cheap", Stream: tt.stream, NumMessages: 1, LastUserText: "hi", TextBytes: 2}
			dec, err := r.Plan(context.Background(), req, Info{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, dec.Deployments); diff != "" {
				t.Errorf("deployments (-want +got):\n%s\nreason %q", diff, dec.Reason)
			}
		})
	}
}
