package provider

import (
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// TestInToolCycle: a conversation is in a tool cycle when it ends with the
// results of the last assistant message's calls, and that message came
// back without its thinking.
func TestInToolCycle(t *testing.T) {
	user := llm.Message{Role: llm.RoleUser}
	calls := llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c", Name: "f"}}}
	thought := llm.Message{Role: llm.RoleAssistant, ToolCalls: calls.ToolCalls, Thinking: []llm.Thinking{{Text: "t", Signature: "s"}}}
	answer := llm.Message{Role: llm.RoleAssistant}
	result := llm.Message{Role: llm.RoleTool, ToolCallID: "c"}
	for _, tc := range []struct {
		msgs []llm.Message
		want bool
	}{
		{[]llm.Message{user}, false},
		{[]llm.Message{user, calls, result}, true},
		{[]llm.Message{user, calls, result, result}, true},
		{[]llm.Message{user, thought, result}, false},
		{[]llm.Message{user, calls, result, answer, user}, false},
		{[]llm.Message{user, answer, result}, false},
		{[]llm.Message{result}, false},
		{nil, false},
	} {
		if got := InToolCycle(tc.msgs); got != tc.want {
			t.Errorf("InToolCycle(%d messages ending %v) = %v, want %v", len(tc.msgs), tc.msgs, got, tc.want)
		}
	}
}

// TestThinking: the budget comes from the client's budget or effort; an
// effort's is added to the answer's limit within the deployment's (and
// taken out of it, up to half, when no room is left), a
// budget is already inside the client's max_tokens; thinking is off for a
// forced tool, a tool turn without its thinking, or too little room.
func TestThinking(t *testing.T) {
	for _, tt := range []struct {
		name          string
		body          llm.Body
		answer, limit int
		forced        bool
		budget, max   int
		ok            bool
	}{
		{"effort", llm.Body{ReasoningEffort: "medium"}, 500, 0, false, 8192, 8692, true},
		{"budget: inside max_tokens", llm.Body{ThinkingBudget: 3000}, 5000, 0, false, 3000, 5000, true},
		{"budget: max_tokens not cut to the limit", llm.Body{ThinkingBudget: 3000}, 10000, 8000, false, 3000, 10000, true},
		{"budget below the least", llm.Body{ThinkingBudget: 1000}, 5000, 0, false, 0, 5000, false},
		{"budget with a forced tool", llm.Body{ThinkingBudget: 3000}, 5000, 0, true, 0, 5000, false},
		{"within the limit", llm.Body{ReasoningEffort: "high"}, 500, 6000, false, 5500, 6000, true},
		{"little room: half the limit", llm.Body{ReasoningEffort: "high"}, 3500, 4000, false, 2000, 4000, true},
		{"no room", llm.Body{ReasoningEffort: "high"}, 1500, 1600, false, 0, 1500, false},
		// A client that sets no max_tokens: the answer's limit is the
		// deployment's, and each effort keeps its own budget within it.
		{"no max_tokens: low", llm.Body{ReasoningEffort: "low"}, 30000, 30000, false, 2048, 30000, true},
		{"no max_tokens: medium", llm.Body{ReasoningEffort: "medium"}, 30000, 30000, false, 8192, 30000, true},
		{"no max_tokens: high", llm.Body{ReasoningEffort: "high"}, 64000, 64000, false, 16384, 64000, true},
		{"no max_tokens: high, half the limit", llm.Body{ReasoningEffort: "high"}, 16384, 16384, false, 8192, 16384, true},
		{"little room: low keeps its own", llm.Body{ReasoningEffort: "low"}, 7500, 8000, false, 2048, 8000, true},
		{"minimal effort", llm.Body{ReasoningEffort: "minimal"}, 500, 0, false, 0, 500, false},
		{"none effort", llm.Body{ReasoningEffort: "none"}, 500, 0, false, 0, 500, false},
		// Above high thinks more, never less (found by audit A).
		{"xhigh", llm.Body{ReasoningEffort: "xhigh"}, 500, 0, false, 32768, 33268, true},
		{"max", llm.Body{ReasoningEffort: "max"}, 500, 0, false, 65536, 66036, true},
		{"xhigh within the limit", llm.Body{ReasoningEffort: "xhigh"}, 2000, 64000, false, 32768, 34768, true},
		{"max within the limit", llm.Body{ReasoningEffort: "max"}, 2000, 64000, false, 62000, 64000, true},
		{"no max_tokens: max, half the limit", llm.Body{ReasoningEffort: "max"}, 64000, 64000, false, 32000, 64000, true},
		{"forced tool", llm.Body{ReasoningEffort: "high"}, 500, 0, true, 0, 500, false},
	} {
		budget, max, ok := Thinking(&tt.body, tt.answer, tt.limit, tt.forced)
		if budget != tt.budget || max != tt.max || ok != tt.ok {
			t.Errorf("%s: Thinking = %d, %d, %v; want %d, %d, %v", tt.name, budget, max, ok, tt.budget, tt.max, tt.ok)
		}
	}
}
