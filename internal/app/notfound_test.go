package app

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/sim"
)

// notFoundConfig is baseConfig with deployments whose upstream model the
// simulator does not serve (it answers 404 in the provider's own format,
// as a real provider does for a mistyped model), a single-target route,
// and a circuit that stays open for the whole test once it opens.
var notFoundConfig = strings.NewReplacer(
	"open_for: 1s", "open_for: 1h",
	"routes:\n", `  - name: ghost
    provider: sim-openai
    model: sim-missing
  - name: ghost-claude
    provider: sim-anthropic
    model: claude-missing
routes:
  - name: ghost-first
    targets: [ghost, medium]
  - name: ghost-claude-first
    targets: [ghost-claude, claude]
  - name: solo
    targets: [small]
`).Replace(baseConfig)

// TestUpstreamNotFoundFailsOver: an upstream 404 is the deployment's
// misconfiguration, not the client's mistake, so the request goes to the
// next target at once (no retry of the 404ing deployment) and the client
// gets that target's answer.
func TestUpstreamNotFoundFailsOver(t *testing.T) {
	s := startStack(t, withFaults(fastSim(), "sim-small", sim.Fault{Type: sim.FaultStatus, Status: http.StatusNotFound}), notFoundConfig)
	tests := []struct {
		name, path, body string
		wantDeployment   string
		wantModel        string // the model named in the answer
	}{
		{name: "scripted 404", path: "/v1/chat/completions", wantDeployment: "medium", wantModel: "sim-medium",
			body: `{"model":"cheap","messages":[{"role":"user","content":"hello there"}]}`},
		{name: "unknown openai model", path: "/v1/chat/completions", wantDeployment: "medium", wantModel: "sim-medium",
			body: `{"model":"ghost-first","messages":[{"role":"user","content":"hello there"}]}`},
		{name: "unknown anthropic model", path: "/v1/messages", wantDeployment: "claude", wantModel: "sim-large",
			body: `{"model":"ghost-claude-first","max_tokens":50,"messages":[{"role":"user","content":"hello there"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := s.post(tt.path, tt.body, "anthropic-version", "2023-06-01")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want 200; body %s", resp.StatusCode, body)
			}
			if got := resp.Header.Get("X-Switchyard-Deployment"); got != tt.wantDeployment {
				t.Errorf("deployment: got %q, want %q", got, tt.wantDeployment)
			}
			if got := resp.Header.Get("X-Switchyard-Attempts"); got != "2" {
				t.Errorf("attempts: got %q, want 2 (one 404, one answer)", got)
			}
			var out struct {
				Model string `json:"model"`
			}
			if err := json.Unmarshal(body, &out); err != nil || out.Model != tt.wantModel {
				t.Errorf("answer model: got %q (%v), want %q; body %s", out.Model, err, tt.wantModel, body)
			}
		})
	}
	if n := len(calls(s, "sim-small")); n != 1 {
		t.Errorf("calls seen by sim-small: got %d, want 1 (a 404 is not retried)", n)
	}

	// A stream fails over the same way: the 404 comes before any byte.
	resp, text := s.stream(`{"model":"cheap","stream":true,"messages":[{"role":"user","content":"hello there"}]}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Switchyard-Deployment") != "medium" || !strings.Contains(text, "data: [DONE]") {
		t.Errorf("stream: got %d from %q, want 200 from medium ending in [DONE]:\n%s", resp.StatusCode, resp.Header.Get("X-Switchyard-Deployment"), text)
	}
	if n := len(calls(s, "sim-small")); n != 2 {
		t.Errorf("calls seen by sim-small after the stream: got %d, want 2", n)
	}
}

// TestUpstreamNotFoundCountsAgainstHealth: unlike a bad request, a 404
// opens the deployment's circuit (threshold 3), after which its traffic
// goes to the fallback without touching it.
func TestUpstreamNotFoundCountsAgainstHealth(t *testing.T) {
	s := startStack(t, withFaults(fastSim(), "sim-small", sim.Fault{Type: sim.FaultStatus, Status: http.StatusNotFound}), notFoundConfig)
	const body = `{"model":"cheap","messages":[{"role":"user","content":"hello there"}]}`
	for i := range 4 {
		resp, b := s.post("/v1/chat/completions", body)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Switchyard-Deployment") != "medium" {
			t.Fatalf("request %d: got %d from %q, want 200 from medium; %s", i, resp.StatusCode, resp.Header.Get("X-Switchyard-Deployment"), b)
		}
	}
	if n := len(calls(s, "sim-small")); n != 3 {
		t.Errorf("calls seen by sim-small: got %d, want 3 (the circuit opens after 3 failures)", n)
	}
}

// TestUpstreamNotFoundClientError: with no target left, the client gets a
// 502 with a stable code in its own dialect, and not the provider's words
// (they name our upstream model, which the client never asked for).
func TestUpstreamNotFoundClientError(t *testing.T) {
	s := startStack(t, withFaults(fastSim(), "sim-small", sim.Fault{Type: sim.FaultStatus, Status: http.StatusNotFound}), notFoundConfig)
	tests := []struct {
		name, path, body string
		want             string
	}{
		{name: "openai", path: "/v1/chat/completions",
			body: `{"model":"solo","messages":[{"role":"user","content":"hello there"}]}`,
			want: `{"error":{"message":"upstream model or deployment not found","type":"server_error","param":null,"code":"upstream_not_found"}}`},
		{name: "openai stream", path: "/v1/chat/completions",
			body: `{"model":"solo","stream":true,"messages":[{"role":"user","content":"hello there"}]}`,
			want: `{"error":{"message":"upstream model or deployment not found","type":"server_error","param":null,"code":"upstream_not_found"}}`},
		{name: "anthropic", path: "/v1/messages",
			body: `{"model":"solo","max_tokens":50,"messages":[{"role":"user","content":"hello there"}]}`,
			want: `{"type":"error","error":{"type":"api_error","message":"upstream model or deployment not found"}}`},
		{name: "anthropic unknown model", path: "/v1/messages",
			body: `{"model":"ghost-claude","max_tokens":50,"messages":[{"role":"user","content":"hello there"}]}`,
			want: `{"type":"error","error":{"type":"api_error","message":"upstream model or deployment not found"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := s.post(tt.path, tt.body, "anthropic-version", "2023-06-01")
			if resp.StatusCode != http.StatusBadGateway {
				t.Errorf("status: got %d, want 502", resp.StatusCode)
			}
			if got := strings.TrimSpace(string(body)); got != tt.want {
				t.Errorf("body:\n got %s\nwant %s", got, tt.want)
			}
			if got := resp.Header.Get("X-Switchyard-Attempts"); got != "1" {
				t.Errorf("attempts: got %q, want 1", got)
			}
			// The official SDKs retry a 502 unless told not to; no retry
			// cures a wrong upstream model.
			if got := resp.Header.Get("X-Should-Retry"); got != "false" {
				t.Errorf("x-should-retry: got %q, want false", got)
			}
		})
	}
}
