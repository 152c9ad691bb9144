package app

import (
	"testing"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
)

// TestProviderCountSaysWhoCounted: a token count answered by a deployment
// (X-Switchyard-Token-Count: provider) names it, as every response that
// called one does (README): X-Switchyard-Deployment and -Attempts, and
// the usage record's deployment.
func TestProviderCountSaysWhoCounted(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""))
	k := s.newKey("acme", admin.KeyCreate{})
	for _, tt := range []struct{ name, path, body string }{
		{"count_tokens", "/v1/messages/count_tokens", `{"model":"claude","messages":[{"role":"user","content":"hi"}]}`},
		{"input_tokens", "/v1/responses/input_tokens", `{"model":"medium","input":"hi"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, h := s.send(tt.path, tt.body, "Authorization", "Bearer "+k.Secret, "anthropic-version", "2023-06-01")
			if code != 200 || h.Get("X-Switchyard-Token-Count") != "provider" {
				t.Fatalf("got %d %s counted by %q, want 200 from the provider", code, out, h.Get("X-Switchyard-Token-Count"))
			}
			dep := h.Get("X-Switchyard-Deployment")
			if dep == "" || h.Get("X-Switchyard-Attempts") != "1" {
				t.Errorf("got deployment %q attempts %q, want the deployment that counted and 1", dep, h.Get("X-Switchyard-Attempts"))
			}
			id := h.Get("X-Request-Id")
			clocktest.WaitFor(t, "the usage record", func() bool { _, ok := s.exportUsage()[id]; return ok })
			if r := s.exportUsage()[id]; r.Deployment != dep || dep == "" || r.CostUSD != 0 {
				t.Errorf("usage record: deployment %q cost %v, want %q and 0", r.Deployment, r.CostUSD, dep)
			}
		})
	}
}
