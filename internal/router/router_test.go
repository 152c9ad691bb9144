package router

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

const testConfig = `
providers:
  - {name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}
deployments:
  - {name: small, provider: p, model: m-small, price: {input_per_mtok: 0.15, output_per_mtok: 0.6}, context_window: 4096, quality: 0.5, capabilities: {json_mode: true}}
  - {name: medium, provider: p, model: m-medium, price: {input_per_mtok: 1, output_per_mtok: 4}, context_window: 32000, quality: 0.75, capabilities: {json_mode: true}}
  - {name: large, provider: p, model: m-large, price: {input_per_mtok: 5, output_per_mtok: 15}, context_window: 200000, quality: 0.9, capabilities: {vision: true}}
  - {name: vision, provider: p, model: m-vision, price: {input_per_mtok: 2.5, output_per_mtok: 10}, context_window: 128000, quality: 0.8, capabilities: {vision: true, json_mode: true}}
routes:
  - {name: chain, targets: [small, large]}
  - name: chat
    policy: rules
    tiers: {basic: chat-basic}
    tenants: {acme: large}
    rules:
      - {name: vision, when: 'images', target: vision}
      - {name: coding, when: 'task == "coding"', target: large}
      - {name: short, when: 'input_tokens < 500', target: small}
      - {name: medium-band, when: 'input_tokens < 2000', target: medium}
      - {name: bad-meta, when: 'metadata.missing == "x"', target: small}
    default: large
  - {name: chat-basic, targets: [small]}
  - {name: cheap, policy: cheapest, targets: [large, vision, medium, small]}
  - {name: cheap-q, policy: cheapest, targets: [large, vision, medium, small], min_quality: 0.7}
  - {name: fast, policy: fastest, targets: [small, medium, large], fastest: {explore: 0.1}}
  - {name: calm, policy: fastest, targets: [small, medium, large], fastest: {by: in_flight, explore: 0}}
  - name: ab
    policy: weighted
    arms: [{name: a, target: small, weight: 70}, {name: b, target: medium, weight: 30}]
  - name: casc
    policy: cascade
    targets: [small, medium, large]
    checks: [{json: true}]
  - name: triage
    policy: classify
    classifier: {deployment: small, labels: {simple: small, complex: large}, timeout: 50ms}
    default: medium
`

type fakeRand struct{ vals []float64 }

func (f *fakeRand) next() float64 {
	if len(f.vals) == 0 {
		return 0.99
	}
	v := f.vals[0]
	f.vals = f.vals[1:]
	return v
}

func newTestRouter(t *testing.T, opts Options) *Router {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig), func(string) string { return "" })
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	r, err := New(cfg, opts)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	return r
}

func chatReq(model, prompt string) *llm.Request {
	return &llm.Request{Model: model, NumMessages: 1, LastUserText: prompt, TextBytes: len(prompt)}
}

func TestPlanPolicies(t *testing.T) {
	long := strings.Repeat("word ", 1000) // ~1000 tokens
	tests := []struct {
		name       string
		req        *llm.Request
		info       Info
		health     map[string]executor.Health
		rand       []float64
		want       []string
		wantReason string
		wantArm    string
	}{
		{name: "fallback", req: chatReq("chain", "hi"), want: []string{"small", "large"}, wantReason: "chain: fallback chain"},
		{name: "fallback skips incapable", req: &llm.Request{Model: "chain", HasImages: true, NumMessages: 1}, want: []string{"large"}, wantReason: "skipped small: no vision"},
		{name: "rules task", req: chatReq("chat", "write go"), info: Info{Headers: http.Header{"X-Switchyard-Task": {"coding"}}}, want: []string{"large"}, wantReason: "chat: coding matched -> large"},
		{name: "rules task from metadata", req: &llm.Request{Model: "chat", Metadata: map[string]string{"task": "coding"}}, want: []string{"large"}, wantReason: "coding matched"},
		{name: "rules images", req: &llm.Request{Model: "chat", HasImages: true, NumMessages: 1}, want: []string{"vision", "large"}, wantReason: "vision matched -> vision"},
		{name: "rules short band", req: chatReq("chat", "hello"), want: []string{"small", "large"}, wantReason: "short matched -> small"},
		{name: "rules medium band", req: chatReq("chat", long), want: []string{"medium", "large"}, wantReason: "medium-band matched"},
		{name: "rules default", req: chatReq("chat", strings.Repeat(long, 3)), want: []string{"large"}, wantReason: "bad-meta could not be evaluated; chat: no rule matched -> default large"},
		{name: "tier mapping", req: chatReq("chat", "hi"), info: Info{Tier: "basic"}, want: []string{"small"}, wantReason: "chat: tier basic uses chat-basic; chat-basic: fallback chain"},
		{name: "tenant beats tier", req: chatReq("chat", "hi"), info: Info{Tier: "basic", TenantID: "acme"}, want: []string{"large"}, wantReason: "chat: tenant acme uses large"},
		{name: "cheapest", req: chatReq("cheap", "hi"), want: []string{"small", "medium", "vision", "large"}, wantReason: "cheapest capable small"},
		{name: "cascade with one stage left", req: &llm.Request{Model: "casc", HasImages: true}, want: []string{"large"}, wantReason: "casc: cascade over 1 stage (large), checked by json"},
		{name: "cheapest vision", req: &llm.Request{Model: "cheap", HasImages: true}, want: []string{"vision", "large"}, wantReason: "skipped medium: no vision, small: no vision"},
		{name: "cheapest context window", req: &llm.Request{Model: "cheap", TextBytes: 4 * 3000, MaxTokens: 2000}, want: []string{"medium", "vision", "large"}, wantReason: "small: context window"},
		{name: "cheapest quality floor", req: chatReq("cheap-q", "hi"), want: []string{"medium", "vision", "large"}, wantReason: "small: quality 0.5"},
		{name: "cheapest json mode", req: &llm.Request{Model: "cheap", JSONMode: true}, want: []string{"small", "medium", "vision"}, wantReason: "large: no json_mode"},
		{name: "cheapest tie broken by health", req: chatReq("cheap", "hi"),
			health: map[string]executor.Health{"small": {State: "open"}}, want: []string{"small", "medium", "vision", "large"}},
		{name: "fastest by ttft", req: chatReq("fast", "hi"), health: map[string]executor.Health{
			"small":  {State: "closed", TTFT: 300 * time.Millisecond, TokensPerSec: 100},
			"medium": {State: "closed", TTFT: 100 * time.Millisecond, TokensPerSec: 100},
			"large":  {State: "closed", TTFT: 50 * time.Millisecond, TokensPerSec: 10}},
			want: []string{"medium", "small", "large"}, wantReason: "fast: fastest medium"},
		{name: "fastest open circuit last", req: chatReq("fast", "hi"), health: map[string]executor.Health{
			"small":  {State: "closed", TTFT: 300 * time.Millisecond},
			"medium": {State: "open", TTFT: 100 * time.Millisecond},
			"large":  {State: "closed"}},
			want: []string{"small", "large", "medium"}},
		{name: "fastest explores", req: chatReq("fast", "hi"), rand: []float64{0.05, 0.9}, health: map[string]executor.Health{
			"small":  {State: "closed", TTFT: 300 * time.Millisecond},
			"medium": {State: "closed", TTFT: 100 * time.Millisecond},
			"large":  {State: "closed"}},
			want: []string{"large", "medium", "small"}, wantReason: "fast: exploring large"},
		{name: "fewest in flight", req: chatReq("calm", "hi"), health: map[string]executor.Health{
			"small": {State: "closed", InFlight: 9}, "medium": {State: "closed", InFlight: 2}, "large": {State: "closed", InFlight: 5}},
			want: []string{"medium", "large", "small"}, wantReason: "calm: fewest in flight medium"},
		{name: "weighted unsticky", req: chatReq("ab", "hi"), rand: []float64{0.8}, want: []string{"medium", "small"}, wantReason: "ab: arm b (random)", wantArm: "b"},
		{name: "direct deployment", req: chatReq("medium", "hi"), want: []string{"medium"}, wantReason: "model names a deployment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := &fakeRand{vals: tt.rand}
			opts := Options{Rand: fr.next}
			if tt.health != nil {
				opts.Health = func(d string) executor.Health {
					if h, ok := tt.health[d]; ok {
						return h
					}
					return executor.Health{State: "closed"}
				}
			}
			r := newTestRouter(t, opts)
			dec, err := r.Plan(context.Background(), tt.req, tt.info)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if diff := cmp.Diff(tt.want, dec.Deployments); diff != "" {
				t.Errorf("deployments (-want +got):\n%s\nreason %q", diff, dec.Reason)
			}
			if !strings.Contains(dec.Reason, tt.wantReason) {
				t.Errorf("got reason %q, want it to contain %q", dec.Reason, tt.wantReason)
			}
			if dec.Arm != tt.wantArm {
				t.Errorf("got arm %q, want %q", dec.Arm, tt.wantArm)
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	r := newTestRouter(t, Options{})
	_, err := r.Plan(context.Background(), chatReq("nope", "hi"), Info{})
	if !errors.Is(err, ErrUnknownModel) {
		t.Errorf("got %v, want ErrUnknownModel", err)
	}
	_, err = r.Plan(context.Background(), &llm.Request{Model: "chain", HasImages: true, JSONMode: true}, Info{})
	var nc *NoCapableError
	if !errors.As(err, &nc) || nc.Route != "chain" {
		t.Errorf("got %v, want NoCapableError for chain", err)
	}
}

func TestWeightedSticky(t *testing.T) {
	r := newTestRouter(t, Options{Rand: func() float64 { t.Fatal("sticky split used randomness"); return 0 }})
	counts := map[string]int{}
	const keys = 10000
	for i := range keys {
		info := Info{KeyID: fmt.Sprintf("key-%d", i)}
		first, err := r.Plan(context.Background(), chatReq("ab", "hi"), info)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			again, _ := r.Plan(context.Background(), chatReq("ab", "other prompt"), info)
			if again.Arm != first.Arm {
				t.Fatalf("key %d: got arm %q then %q, want the same arm every time", i, first.Arm, again.Arm)
			}
		}
		counts[first.Arm]++
	}
	share := float64(counts["a"]) / keys
	if share < 0.68 || share > 0.72 {
		t.Errorf("got arm a for %.3f of keys, want 0.70 ± 0.02 (counts %v)", share, counts)
	}
}

func TestPlanForEmbeddingsExpandsAllPolicies(t *testing.T) {
	r := newTestRouter(t, Options{})
	dec, err := r.PlanFor("chat", []string{config.CapChat}, Info{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"vision", "large", "small", "medium"}
	if diff := cmp.Diff(want, dec.Deployments); diff != "" {
		t.Errorf("deployments (-want +got):\n%s", diff)
	}
}

// TestWeightedArmThatCannotServe: when the arm a request falls to cannot
// serve it (no vision here), the request is recorded under the arm whose
// deployment answers it, so an A/B comparison counts it there.
func TestWeightedArmThatCannotServe(t *testing.T) {
	cfg, err := config.Parse([]byte(`
providers:
  - {name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}
deployments:
  - {name: plain, provider: p, model: m1}
  - {name: seeing, provider: p, model: m2, capabilities: {vision: true}}
routes:
  - name: ab
    policy: weighted
    sticky: none
    arms: [{name: cand, target: plain, weight: 90}, {name: control, target: seeing, weight: 10}]
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, Options{Rand: func() float64 { return 0 }}) // always the first arm
	if err != nil {
		t.Fatal(err)
	}
	text := chatReq("ab", "hi")
	if dec, err := r.Plan(context.Background(), text, Info{}); err != nil || dec.Arm != "cand" || dec.Deployments[0] != "plain" {
		t.Fatalf("text: arm %q plan %v %v, want cand on plain", dec.Arm, dec.Deployments, err)
	}
	img := chatReq("ab", "what is this?")
	img.HasImages = true
	dec, err := r.Plan(context.Background(), img, Info{})
	if err != nil || dec.Arm != "control" || strings.Join(dec.Deployments, ",") != "seeing" || !strings.Contains(dec.Reason, "arm cand cannot serve this request; arm control") {
		t.Errorf("image: arm %q plan %v reason %q %v, want control on seeing, saying why", dec.Arm, dec.Deployments, dec.Reason, err)
	}
}
