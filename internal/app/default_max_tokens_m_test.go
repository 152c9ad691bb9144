package app

import (
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/sim"
)

// TestDefaultMaxTokensFitsTheWindow: an OpenAI client that sets no
// max_tokens, translated for an Anthropic or Bedrock deployment (whose
// APIs require a limit and refuse input plus limit beyond the context
// window), is sent the deployment's output limit only as far as the
// window leaves room after the input. It was sent the whole 4096 whatever
// the input, so a 4.9k-token prompt the plan said fits an 8k window was a
// 400 context_length_exceeded.
func TestDefaultMaxTokensFitsTheWindow(t *testing.T) {
	simCfg := fastSim()
	simCfg.Models = append(simCfg.Models, sim.Model{Name: "sim-8k", ContextWindow: 8192, OutputTokens: 16})
	cfg := `
server:
  listen: 127.0.0.1:0
` + storeConfig + `providers:
  - {name: anth, kind: anthropic, base_url: "{{SIM}}"}
  - {name: br, kind: bedrock, region: us-east-1, base_url: "{{SIM}}", api_key: x}
deployments:
  - {name: claude, provider: anth, model: sim-8k, context_window: 8192, max_output_tokens: 4096}
  - {name: claude-bedrock, provider: br, model: sim-8k, context_window: 8192, max_output_tokens: 4096}
routes:
  - {name: chat, targets: [claude]}
`
	s := startStack(t, simCfg, cfg)
	prompt := strings.Repeat("hello world. ", 1500) // about 4.9k tokens
	for _, model := range []string{"chat", "claude-bedrock"} {
		resp, b := s.post("/v1/chat/completions", routeBody(model, prompt, ""))
		if resp.StatusCode != 200 {
			t.Errorf("%s: got %d %s, want 200: the default max_tokens must fit the window", model, resp.StatusCode, b)
		}
	}
	// A limit the client set is its own: sent as it is, and refused.
	if resp, b := s.post("/v1/chat/completions", routeBody("chat", prompt, `"max_tokens":4096,`)); resp.StatusCode != 400 {
		t.Errorf("max_tokens 4096: got %d %s, want 400 (the plan leaves out a window too small)", resp.StatusCode, b)
	}
}
