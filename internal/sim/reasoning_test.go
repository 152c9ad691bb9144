package sim

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// TestReasoningModels: reasoning parameters are refused by other models
// and by reasoning models in the shapes the real APIs refuse, and a
// reasoning model spends (and reports) reasoning tokens or a thinking
// block.
func TestReasoningModels(t *testing.T) {
	_, url, c := startSim(t, Config{Models: []Model{
		{Name: "plain", OutputTokens: 8, ContextWindow: 100000},
		{Name: "thinker", OutputTokens: 8, ContextWindow: 100000, Reasoning: true},
	}})
	ctx := context.Background()
	msgs := []any{map[string]any{"role": "user", "content": "hi"}}
	for _, tt := range []struct {
		name, path string
		body       map[string]any
		status     int
		want       string // in the error message, or in the body
	}{
		{"effort to a plain model", "/v1/chat/completions", map[string]any{"model": "plain", "messages": msgs, "reasoning_effort": "low"}, 400, "'reasoning_effort' is not supported"},
		{"max_tokens to a reasoning model", "/v1/chat/completions", map[string]any{"model": "thinker", "messages": msgs, "max_tokens": 50}, 400, "Use 'max_completion_tokens' instead"},
		{"temperature to a reasoning model", "/v1/chat/completions", map[string]any{"model": "thinker", "messages": msgs, "temperature": 0.5}, 400, "Only the default (1) value is supported"},
		{"unknown effort", "/v1/chat/completions", map[string]any{"model": "thinker", "messages": msgs, "reasoning_effort": "extreme"}, 400, "Supported values are"},
		{"thinking to a plain model", "/v1/messages", map[string]any{"model": "plain", "max_tokens": 4096, "messages": msgs, "thinking": map[string]any{"type": "enabled", "budget_tokens": 2048}}, 400, "does not support thinking"},
		{"thinking budget too small", "/v1/messages", map[string]any{"model": "thinker", "max_tokens": 4096, "messages": msgs, "thinking": map[string]any{"type": "enabled", "budget_tokens": 100}}, 400, "greater than or equal to 1024"},
		{"max_tokens not above the budget", "/v1/messages", map[string]any{"model": "thinker", "max_tokens": 2048, "messages": msgs, "thinking": map[string]any{"type": "enabled", "budget_tokens": 2048}}, 400, "must be greater than `thinking.budget_tokens`"},
		{"thinking with temperature", "/v1/messages", map[string]any{"model": "thinker", "max_tokens": 4096, "temperature": 0.2, "messages": msgs, "thinking": map[string]any{"type": "enabled", "budget_tokens": 2048}}, 400, "temperature"},
		{"high effort", "/v1/chat/completions", map[string]any{"model": "thinker", "messages": msgs, "reasoning_effort": "high", "max_completion_tokens": 500}, 200, `"reasoning_tokens":32`},
		{"thinking", "/v1/messages", map[string]any{"model": "thinker", "max_tokens": 4096, "messages": msgs, "thinking": map[string]any{"type": "enabled", "budget_tokens": 2048}}, 200, `"type":"thinking"`},
	} {
		resp := post(t, ctx, c, url+tt.path, tt.body, "anthropic-version", "2023-06-01")
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
			t.Errorf("%s: %d %s, want %d with %q", tt.name, resp.StatusCode, b, tt.status, tt.want)
		}
	}

	// The reasoning tokens are output tokens.
	resp := post(t, ctx, c, url+"/v1/chat/completions", map[string]any{"model": "thinker", "messages": msgs})
	var oa struct {
		Usage struct {
			CompletionTokens        int `json:"completion_tokens"`
			CompletionTokensDetails struct {
				ReasoningTokens int `json:"reasoning_tokens"`
			} `json:"completion_tokens_details"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&oa); err != nil || oa.Usage.CompletionTokensDetails.ReasoningTokens != 16 || oa.Usage.CompletionTokens != 8+16 {
		t.Errorf("default effort: %+v, %v; want 16 reasoning tokens within 24", oa.Usage, err)
	}
	resp.Body.Close()

	// A streamed answer with thinking: the thinking block, then the text at index 1.
	resp = post(t, ctx, c, url+"/v1/messages", map[string]any{"model": "thinker", "max_tokens": 4096, "stream": true, "messages": msgs,
		"thinking": map[string]any{"type": "enabled", "budget_tokens": 2048}}, "anthropic-version", "2023-06-01")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	out := string(b)
	if !strings.Contains(out, `"thinking_delta"`) || !strings.Contains(out, `"signature_delta"`) ||
		!strings.Contains(out, `"type":"content_block_delta","index":1`) && !strings.Contains(out, `"index":1,"type":"content_block_delta"`) {
		t.Errorf("streamed thinking: %s", out)
	}
}
