package bedrock

import (
	"context"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

// An Anthropic client's adaptive thinking and output_config.effort reach
// a Claude reasoning deployment on Bedrock in additionalModelRequestFields,
// as Anthropic's API takes them, rather than being dropped; adaptive
// thinking keeps the rules of any thinking (found by audit A).
func TestTranslateAdaptiveThinking(t *testing.T) {
	calls := llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c", Name: "f", Arguments: "{}"}}}
	result := llm.Message{Role: llm.RoleTool, ToolCallID: "c", Parts: []llm.Part{text("ok")}}
	for _, tt := range []struct {
		name      string
		reasoning bool
		body      llm.Body
		want      string // additionalModelRequestFields, "" for none
		temp      bool   // temperature kept
	}{
		{"adaptive", true, llm.Body{ThinkingAdaptive: true}, `{"thinking":{"type":"adaptive"}}`, false},
		{"adaptive with effort", true, llm.Body{ThinkingAdaptive: true, Effort: "high"},
			`{"thinking":{"type":"adaptive"},"output_config":{"effort":"high"}}`, false},
		{"effort alone", true, llm.Body{Effort: "low"}, `{"output_config":{"effort":"low"}}`, true},
		{"effort with a budget", true, llm.Body{ThinkingBudget: 2000, Effort: "max"},
			`{"thinking":{"type":"enabled","budget_tokens":2000},"output_config":{"effort":"max"}}`, false},
		{"adaptive with a forced tool", true, llm.Body{ThinkingAdaptive: true, Effort: "medium", Tools: []llm.Tool{{Name: "f"}},
			ToolChoice: &llm.ToolChoice{Mode: "tool", Name: "f"}}, `{"output_config":{"effort":"medium"}}`, true},
		{"adaptive in a tool cycle without its thinking", true, llm.Body{ThinkingAdaptive: true, Tools: []llm.Tool{{Name: "f"}},
			Messages: []llm.Message{user(text("hi")), calls, result}}, "", true},
		{"not a reasoning deployment", false, llm.Body{ThinkingAdaptive: true, Effort: "high"}, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "converse_text.json"})
			if tt.body.Messages == nil {
				tt.body.Messages = hiMessages
			}
			tt.body.Temperature = new(0.5)
			req := request(&tt.body)
			req.Dialect, req.MaxTokens = llm.DialectAnthropic, 16000
			c := newClient(srv, func(c *provider.Config) { c.Reasoning, c.MaxOutputTokens = tt.reasoning, 64000 })
			if _, err := c.Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			body := providertest.Receive(t, got).Body
			if g := gjson.GetBytes(body, "additionalModelRequestFields").Raw; g != tt.want {
				t.Errorf("additionalModelRequestFields %s, want %s", g, tt.want)
			}
			if g := gjson.GetBytes(body, "inferenceConfig.maxTokens").Int(); g != 16000 {
				t.Errorf("maxTokens %d, want the client's 16000", g)
			}
			if g := gjson.GetBytes(body, "inferenceConfig.temperature").Exists(); g != tt.temp {
				t.Errorf("temperature sent: %v, want %v", g, tt.temp)
			}
		})
	}
}
