package openai

import (
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// TestTranslateForReasoningModels: a reasoning deployment gets
// max_completion_tokens and the client's effort (or one for its thinking
// budget) and no sampling settings; another gets none of that.
func TestTranslateForReasoningModels(t *testing.T) {
	half := 0.5
	request := func(b llm.Body) *llm.Request {
		r := &llm.Request{Model: "route", MaxTokens: 300, Dialect: llm.DialectAnthropic}
		b.Messages = []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hi"}}}}
		r.SetBody(&b)
		return r
	}
	for _, tt := range []struct {
		name      string
		reasoning bool
		body      llm.Body
		want      map[string]string // JSON path → value ("" = absent)
	}{
		{"effort to a reasoning model", true, llm.Body{ReasoningEffort: "high", Temperature: &half, TopP: &half},
			map[string]string{"reasoning_effort": "high", "max_completion_tokens": "300", "max_tokens": "", "temperature": "", "top_p": ""}},
		{"thinking budget to a reasoning model", true, llm.Body{ThinkingBudget: 8000},
			map[string]string{"reasoning_effort": "medium", "max_completion_tokens": "300"}},
		{"small thinking budget", true, llm.Body{ThinkingBudget: 1024}, map[string]string{"reasoning_effort": "low"}},
		// Adaptive thinking is carried as its effort, medium without one
		// (found by audit A).
		{"adaptive thinking", true, llm.Body{ThinkingAdaptive: true}, map[string]string{"reasoning_effort": "medium"}},
		{"adaptive thinking with an effort", true, llm.Body{ThinkingAdaptive: true, Effort: "high"}, map[string]string{"reasoning_effort": "high"}},
		{"effort without thinking", true, llm.Body{Effort: "low"}, map[string]string{"reasoning_effort": "low"}},
		{"a budget wins over an effort", true, llm.Body{ThinkingBudget: 1024, Effort: "max"}, map[string]string{"reasoning_effort": "low"}},
		{"adaptive thinking to another model", false, llm.Body{ThinkingAdaptive: true, Effort: "high"}, map[string]string{"reasoning_effort": ""}},
		{"nothing asked of a reasoning model", true, llm.Body{Temperature: &half},
			map[string]string{"reasoning_effort": "", "max_completion_tokens": "300", "temperature": ""}},
		{"effort to another model", false, llm.Body{ReasoningEffort: "high", ThinkingBudget: 8000, Temperature: &half},
			map[string]string{"reasoning_effort": "", "max_tokens": "300", "max_completion_tokens": "", "temperature": "0.5"}},
	} {
		c := New(provider.Config{Model: "o-model", Reasoning: tt.reasoning})
		body, err := c.translate(request(tt.body), false)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for path, want := range tt.want {
			if got := gjson.GetBytes(body, path); got.String() != want || want == "" && got.Exists() {
				t.Errorf("%s: %s = %s, want %q in %s", tt.name, path, got.Raw, want, body)
			}
		}
	}
}
