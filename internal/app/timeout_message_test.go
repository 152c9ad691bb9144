package app

import (
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/sim"
)

// TestNonStreamTimeoutMessage: a non-streamed request whose deployment
// never answers is cut at that deployment's timeout (medium: 1s), and the
// client's error says so, in both dialects; not "deadline exceeded", which
// names executor.deadline (20s here), the limit that did not fire.
func TestNonStreamTimeoutMessage(t *testing.T) {
	s := startStack(t, withFaults(fastSim(), "sim-medium", sim.Fault{Type: sim.FaultHang}), "")
	const want = "upstream attempt timed out after 1s"
	for _, tt := range []struct{ name, path, body string }{
		{name: "openai", path: "/v1/chat/completions", body: `{"model":"medium","messages":[{"role":"user","content":"hi"}]}`},
		{name: "anthropic", path: "/v1/messages", body: `{"model":"medium","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := s.post(tt.path, tt.body)
			if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(b), want) || strings.Contains(string(b), "deadline exceeded") {
				t.Errorf("got %d %s, want 504 saying %q", resp.StatusCode, b, want)
			}
		})
	}
}
