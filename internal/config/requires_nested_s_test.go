package config

import (
	"strings"
	"testing"
)

// A route's requires holds through the tier and tenant redirects of the
// routes it reaches, not only its own: a nested route sending a tenant to
// a deployment without the capability is an error naming that redirect
// and the requiring route (found by audit S: check passed, then every
// request of that tenant was a 400 no_capable_deployment).
func TestRequiresThroughNestedRedirects(t *testing.T) {
	const base = `
providers:
  - {name: sim, kind: openai, base_url: "http://127.0.0.1:1/v1"}
deployments:
  - {name: small,  provider: sim, model: sim-small}
  - {name: vision, provider: sim, model: sim-vision, capabilities: {vision: true}}
routes:
  - {name: see, targets: [nest], requires: [vision]}
  - {name: nest, targets: [vision], tenants: {acme: TENANT}}
`
	_, err := Parse([]byte(strings.Replace(base, "TENANT", "small", 1)), getenv)
	want := `routes[1].tenants.acme: "small" reaches no deployment with vision, which route "see", reaching this redirect, requires`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want a problem %q", err, want)
	}
	if _, err := Parse([]byte(strings.Replace(base, "TENANT", "vision", 1)), getenv); err != nil {
		t.Errorf("a redirect with the capability: got %v, want no error", err)
	}
}
