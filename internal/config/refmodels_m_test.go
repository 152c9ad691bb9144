package config

import (
	"strings"
	"testing"
)

// A learned route's ref_models entry for a deployment its targets do not
// reach would be looked up by nothing: it is an error naming the entry.
func TestRefModelsEntryOutsideTargets(t *testing.T) {
	const base = `
providers:
  - {name: sim, kind: openai, base_url: "http://127.0.0.1:1/v1"}
deployments:
  - {name: small,  provider: sim, model: sim-small}
  - {name: medium, provider: sim, model: sim-medium}
  - {name: large,  provider: sim, model: sim-large}
routes:
  - {name: big, targets: [large]}
  - name: smart
    policy: learned
    targets: TARGETS
    learned:
      router_file: builtin:default
      quality: 0.7
      ref_models: {small: mistralai/mixtral-8x7b-chat, large: gpt-4-1106-preview}
`
	_, err := Parse([]byte(strings.Replace(base, "TARGETS", "[small, medium]", 1)), getenv)
	if err == nil {
		t.Fatal("got no error, want ref_models.large refused")
	}
	want := `routes[1].learned.ref_models.large: deployment "large" is not a target of route "smart"`
	if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "ref_models.small") {
		t.Errorf("got error %q, want one problem containing %q", err, want)
	}
	// Reached through a nested route, the entry is used: no error.
	if _, err := Parse([]byte(strings.Replace(base, "TARGETS", "[small, big]", 1)), getenv); err != nil {
		t.Errorf("large reached through route big: got %v, want no error", err)
	}
}

// A learned route's willingness_to_pay must be finite: .inf made every
// cost difference equal, so the route picked the cheapest target (found
// by audit S).
func TestWillingnessToPayFinite(t *testing.T) {
	const base = `
providers:
  - {name: sim, kind: openai, base_url: "http://127.0.0.1:1/v1"}
deployments:
  - {name: small,  provider: sim, model: sim-small}
  - {name: large,  provider: sim, model: sim-large}
routes:
  - name: smart
    policy: learned
    targets: [small, large]
    learned: {router_file: builtin:default, willingness_to_pay: WTP}
`
	for wtp, ok := range map[string]bool{"1000": true, "0.5": true, ".inf": false, "-1": false, ".nan": false} {
		_, err := Parse([]byte(strings.Replace(base, "WTP", wtp, 1)), getenv)
		if ok != (err == nil) || err != nil && !strings.Contains(err.Error(), "willingness_to_pay") {
			t.Errorf("willingness_to_pay %s: got %v, want ok %v", wtp, err, ok)
		}
	}
}
