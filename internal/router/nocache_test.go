package router

import (
	"context"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// TestNoCacheOnTheWay: a decision that passes through a route with cache:
// false (named, a target, a rules default, a tier redirect, a pooled
// policy's nested route, an embeddings plan's redirect) is marked NoCache;
// one that passes through none is not.
func TestNoCacheOnTheWay(t *testing.T) {
	cfg, err := config.Parse([]byte(`
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - {name: a, provider: p, model: m1, capabilities: {embeddings: true}}
  - {name: b, provider: p, model: m2, capabilities: {embeddings: true}}
routes:
  - {name: fresh, targets: [a], cache: false}
  - {name: plain, targets: [b]}
  - {name: chain, targets: [plain, fresh]}
  - {name: ruled, policy: rules, rules: [{when: 'tools', target: plain}], default: fresh}
  - {name: tiered, targets: [b], tiers: {gold: fresh}}
  - {name: pooled, policy: cheapest, targets: [plain, fresh]}
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		model string
		info  Info
		want  bool
	}{
		{"fresh", Info{}, true},
		{"plain", Info{}, false},
		{"a", Info{}, false},
		{"chain", Info{}, true},
		{"ruled", Info{}, true},
		{"tiered", Info{}, false},
		{"tiered", Info{Tier: "gold"}, true},
		{"pooled", Info{}, true},
	}
	for _, tt := range tests {
		req := &llm.Request{Model: tt.model, NumMessages: 1, LastUserText: "hi", TextBytes: 2}
		dec, err := r.Plan(context.Background(), req, tt.info)
		if err != nil {
			t.Fatalf("%s: %v", tt.model, err)
		}
		if dec.NoCache != tt.want {
			t.Errorf("%s (tier %q): NoCache %v, want %v (reason %q)", tt.model, tt.info.Tier, dec.NoCache, tt.want, dec.Reason)
		}
	}
	dec, err := r.PlanFor("tiered", []string{config.CapEmbeddings}, Info{Tier: "gold"})
	if err != nil || !dec.NoCache {
		t.Errorf("embeddings plan through a tier redirect to fresh: NoCache %v (%v), want true", dec.NoCache, err)
	}
}
