package router

import (
	"context"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// TestRequiresSurvivesRedirects: a route's requires holds for every
// request it takes, also one a tier or tenant entry sends elsewhere and
// one that reaches a deployment through a nested route.
func TestRequiresSurvivesRedirects(t *testing.T) {
	cfg, err := config.Parse([]byte(`
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - {name: small, provider: p, model: m1}
  - {name: large, provider: p, model: m2, capabilities: {vision: true}}
  - {name: vision, provider: p, model: m3, capabilities: {vision: true}}
routes:
  - {name: see, targets: [vision, large], requires: [vision], tiers: {basic: cheap}, tenants: {acme: mixed}}
  - {name: cheap, targets: [small, large]}
  - {name: mixed, policy: cheapest, targets: [small, vision]}
  - {name: nested, targets: [cheap], requires: [vision]}
  - {name: pool, targets: [small, large], requires: [vision]}
  - {name: tiered, targets: [small], tiers: {gold: vision}}
  - {name: cheapest-pool, policy: cheapest, targets: [pool]}
  - {name: cascade-pool, policy: cascade, targets: [pool, vision], checks: [{json: true}]}
  - {name: cheapest-tiered, policy: cheapest, targets: [tiered, large]}
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
		wantSkip    string
	}{
		{"no redirect", "see", Info{}, "vision,large", ""},
		{"tier redirect", "see", Info{Tier: "basic"}, "large", "small: no vision"},
		{"tenant redirect", "see", Info{TenantID: "acme"}, "vision", "small: no vision"},
		{"nested route", "nested", Info{}, "large", "small: no vision"},
		{"redirect target's own plan unchanged", "cheap", Info{Tier: "basic"}, "small,large", ""},
		// Policies that pool the deployments of nested routes keep each
		// nested route's requires and follow its redirects.
		{"cheapest over a route's requires", "cheapest-pool", Info{}, "large", "small: no vision"},
		{"cascade over a route's requires", "cascade-pool", Info{}, "large,vision", "small: no vision"},
		{"cheapest follows a nested tier", "cheapest-tiered", Info{Tier: "gold"}, "vision,large", ""},
		{"cheapest without the tier", "cheapest-tiered", Info{}, "small,large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, explain := range []bool{false, true} {
				req := chatReq(tt.model, "hi")
				plan := r.Plan
				if explain {
					plan = r.Explain
				}
				dec, err := plan(context.Background(), req, tt.info)
				if err != nil {
					t.Fatalf("explain %v: %v", explain, err)
				}
				if got := strings.Join(dec.Deployments, ","); got != tt.want {
					t.Errorf("explain %v: got %s, want %s (reason %q)", explain, got, tt.want, dec.Reason)
				}
				if tt.wantSkip != "" && !strings.Contains(dec.Reason, "skipped "+tt.wantSkip) {
					t.Errorf("explain %v: got reason %q, want it to name %q", explain, dec.Reason, tt.wantSkip)
				}
			}
		})
	}
}

// TestRequiresRedirectTargetsValidated: a tier or tenant target that can
// never meet the route's requires is a config error naming its path.
func TestRequiresRedirectTargetsValidated(t *testing.T) {
	const head = `
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - {name: small, provider: p, model: m1}
  - {name: large, provider: p, model: m2, capabilities: {vision: true}}
routes:
  - {name: cheap, targets: [small]}
  - {name: either, targets: [small, large]}
`
	tests := []struct {
		name, route, want string
	}{
		{"tier to a deployment", `  - {name: see, targets: [large], requires: [vision], tiers: {basic: small}}`,
			`routes[2].tiers.basic: "small" reaches no deployment with vision, which this route requires`},
		{"tenant to a route", `  - {name: see, targets: [large], requires: [vision], tenants: {acme: cheap}}`,
			`routes[2].tenants.acme: "cheap" reaches no deployment with vision, which this route requires`},
		{"target that can", `  - {name: see, targets: [large], requires: [vision], tiers: {basic: either}, tenants: {acme: large}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(head+tt.route+"\n"), func(string) string { return "" })
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want the config to load", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
