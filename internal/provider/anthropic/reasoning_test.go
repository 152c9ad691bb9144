package anthropic

import (
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// TestTranslateThinking: a reasoning deployment gets extended thinking
// for the client's effort or budget, on top of the answer's max_tokens
// and within the deployment's limit, without sampling settings; a forced
// tool choice or another deployment gets none.
func TestTranslateThinking(t *testing.T) {
	half := 0.5
	request := func(maxTokens int, b llm.Body) *llm.Request {
		r := &llm.Request{Model: "route", MaxTokens: maxTokens, Dialect: llm.DialectOpenAI}
		b.Messages = []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hi"}}}}
		r.SetBody(&b)
		return r
	}
	for _, tt := range []struct {
		name      string
		reasoning bool
		limit     int
		maxTokens int
		body      llm.Body
		budget    int64 // 0: no thinking
		max       int64
	}{
		{"medium effort", true, 0, 500, llm.Body{ReasoningEffort: "medium", Temperature: &half}, 8192, 8692},
		// An Anthropic client's max_tokens already holds its budget (d08002a).
		{"budget from an Anthropic-shaped request", true, 0, 5000, llm.Body{ThinkingBudget: 3000}, 3000, 5000},
		{"within the deployment's limit", true, 6000, 500, llm.Body{ReasoningEffort: "high"}, 5500, 6000},
		{"limit leaves little room: half of it", true, 4000, 3500, llm.Body{ReasoningEffort: "high"}, 2000, 4000},
		{"minimal effort", true, 0, 500, llm.Body{ReasoningEffort: "minimal"}, 0, 500},
		{"forced tool", true, 0, 500, llm.Body{ReasoningEffort: "high", Tools: []llm.Tool{{Name: "f"}}, ToolChoice: &llm.ToolChoice{Mode: "tool", Name: "f"}}, 0, 500},
		{"another model", false, 0, 500, llm.Body{ReasoningEffort: "high", Temperature: &half}, 0, 500},
	} {
		c := New(provider.Config{Model: "claude", Reasoning: tt.reasoning, MaxOutputTokens: tt.limit})
		body, err := c.translate(request(tt.maxTokens, tt.body), false)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		th := gjson.GetBytes(body, "thinking")
		if got := gjson.GetBytes(body, "max_tokens").Int(); got != tt.max {
			t.Errorf("%s: max_tokens %d, want %d (%s)", tt.name, got, tt.max, body)
		}
		if tt.budget == 0 {
			if th.Exists() {
				t.Errorf("%s: thinking %s, want none", tt.name, th.Raw)
			}
			continue
		}
		if th.Get("type").Str != "enabled" || th.Get("budget_tokens").Int() != tt.budget || gjson.GetBytes(body, "temperature").Exists() {
			t.Errorf("%s: %s, want thinking with budget %d and no temperature", tt.name, body, tt.budget)
		}
	}
}

// TestTranslateMarksSystemPromptForCache: with CacheSystemPrompt the
// system prompt goes as one block marked for the prompt cache; without,
// as a string; a request with none has no system.
func TestTranslateMarksSystemPromptForCache(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cache  bool
		system string
		want   string // the system member's JSON, or "" for none
	}{
		{"marked", true, "You are terse.", `[{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral"}}]`},
		{"not marked", false, "You are terse.", `"You are terse."`},
		{"no system prompt", true, "", ""},
	} {
		c := New(provider.Config{Model: "claude", CacheSystemPrompt: tt.cache})
		r := &llm.Request{Model: "route", Dialect: llm.DialectOpenAI}
		r.SetBody(&llm.Body{System: tt.system, Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hi"}}}}})
		body, err := c.translate(r, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := gjson.GetBytes(body, "system").Raw; got != tt.want {
			t.Errorf("%s: system %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestTranslateThinkingSentBack: the thinking an OpenAI client sends back
// with an assistant message goes first in that message, each block as it
// came (Anthropic checks the signatures), and keeps thinking on for the
// turn that answers the message's tool calls.
func TestTranslateThinkingSentBack(t *testing.T) {
	r := &llm.Request{Model: "route", MaxTokens: 500, Dialect: llm.DialectOpenAI}
	r.SetBody(&llm.Body{ReasoningEffort: "low", Tools: []llm.Tool{{Name: "f"}}, Messages: []llm.Message{
		{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hi"}}},
		{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "Calling."}},
			Thinking:  []llm.Thinking{{Text: "Think.", Signature: "sig"}, {Redacted: "opaque"}},
			ToolCalls: []llm.ToolCall{{ID: "t1", Name: "f", Arguments: "{}"}}},
		{Role: llm.RoleTool, ToolCallID: "t1", Parts: []llm.Part{{Type: llm.PartText, Text: "ok"}}},
	}})
	body, err := New(provider.Config{Model: "claude", Reasoning: true}).translate(r, false)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"type":"thinking","thinking":"Think.","signature":"sig"},{"type":"redacted_thinking","data":"opaque"},{"type":"text","text":"Calling."},{"type":"tool_use","id":"t1","name":"f","input":{}}]`
	if got := gjson.GetBytes(body, "messages.1.content").Raw; got != want {
		t.Errorf("assistant content\n got %s\nwant %s", got, want)
	}
	if gjson.GetBytes(body, "thinking.budget_tokens").Int() != 2048 {
		t.Errorf("thinking %s, want it on (the call's thinking came back)", gjson.GetBytes(body, "thinking").Raw)
	}
}
