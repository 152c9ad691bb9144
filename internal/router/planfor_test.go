package router

import (
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// TestPlanForFollowsRedirects: a plan made without request features (an
// embeddings request) follows the caller's tenant and tier entries, keeps
// the named route's requires, and a tenant entry wins over a tier one.
func TestPlanForFollowsRedirects(t *testing.T) {
	cfg, err := config.Parse([]byte(`
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - {name: e1, provider: p, model: m1, capabilities: {chat: false, streaming: false, embeddings: true}}
  - {name: e2, provider: p, model: m2, capabilities: {chat: false, streaming: false, embeddings: true}}
  - {name: e3, provider: p, model: m3, capabilities: {chat: false, streaming: false, embeddings: true, vision: true}}
routes:
  - {name: emb, targets: [e1], tenants: {acme: e2}, tiers: {basic: emb-basic}}
  - {name: emb-basic, policy: cheapest, targets: [e2, e3]}
  - {name: see, targets: [e3], requires: [vision], tiers: {basic: emb-basic}}
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, model string
		info        Info
		want        string
		wantReason  string
	}{
		{"no entry", "emb", Info{Tier: "pro", TenantID: "other"}, "e1", "all targets in config order"},
		{"tenant to a deployment", "emb", Info{TenantID: "acme"}, "e2", "emb: tenant acme uses e2"},
		{"tier to a route", "emb", Info{Tier: "basic"}, "e2,e3", "emb: tier basic uses emb-basic; all targets in config order"},
		{"tenant beats tier", "emb", Info{Tier: "basic", TenantID: "acme"}, "e2", "tenant acme uses e2"},
		{"requires kept across the redirect", "see", Info{Tier: "basic"}, "e3", "skipped e2: no vision"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec, err := r.PlanFor(tt.model, []string{config.CapEmbeddings}, tt.info)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(dec.Deployments, ","); got != tt.want {
				t.Errorf("got %s, want %s (reason %q)", got, tt.want, dec.Reason)
			}
			if !strings.Contains(dec.Reason, tt.wantReason) {
				t.Errorf("got reason %q, want it to contain %q", dec.Reason, tt.wantReason)
			}
			if dec.Route != tt.model {
				t.Errorf("got route %q, want the route named, %q", dec.Route, tt.model)
			}
		})
	}
}
