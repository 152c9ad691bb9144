package gateway

import (
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// The semantic namespace of a request is everything but the text of its
// last user message: two requests that differ only in that text share it,
// and two that differ in an image, a file or a tool result in that message
// do not (the embedding sees the text alone).
func TestSemanticNamespaceKeepsNonTextParts(t *testing.T) {
	tests := []struct {
		name      string
		d         llm.Dialect
		a, b      string
		wantEqual bool
	}{
		{"openai text only", llm.DialectOpenAI,
			`{"model":"m","messages":[{"role":"user","content":"What is the capital of France?"}]}`,
			`{"model":"m","messages":[{"role":"user","content":"what is the capital of france"}]}`, true},
		{"openai text parts", llm.DialectOpenAI,
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Describe it"}]}]}`,
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"describe it please"}]}]}`, true},
		{"openai another image", llm.DialectOpenAI,
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Describe it"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`,
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Describe it"},{"type":"image_url","image_url":{"url":"data:image/png;base64,BBBB"}}]}]}`, false},
		{"openai same image, other words", llm.DialectOpenAI,
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Describe it"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`,
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"describe it!"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`, true},
		{"anthropic another tool result", llm.DialectAnthropic,
			`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"Paris: 31C sunny"},{"type":"text","text":"Summarise."}]}]}`,
			`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"Paris: -5C snow"},{"type":"text","text":"Summarise."}]}]}`, false},
		// Chat Completions and Messages read no input_text part as text,
		// so the embedding never sees it (found by audit K).
		{"openai another input_text part", llm.DialectOpenAI,
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Summarise"},{"type":"input_text","text":"the war"}]}]}`,
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Summarise"},{"type":"input_text","text":"the peace"}]}]}`, false},
		{"anthropic another input_text part", llm.DialectAnthropic,
			`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"Summarise"},{"type":"input_text","text":"the war"}]}]}`,
			`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"Summarise"},{"type":"input_text","text":"the peace"}]}]}`, false},
		{"responses other input_text", llm.DialectOpenAIResponses,
			`{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"What is this?"}]}]}`,
			`{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"what is this"}]}]}`, true},
		{"responses another image", llm.DialectOpenAIResponses,
			`{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"What is this?"},{"type":"input_image","image_url":"data:image/png;base64,AAAA"}]}]}`,
			`{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"What is this?"},{"type":"input_image","image_url":"data:image/png;base64,BBBB"}]}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			na, okA := withoutLastUserContent(tt.d, []byte(tt.a))
			nb, okB := withoutLastUserContent(tt.d, []byte(tt.b))
			if !okA || !okB {
				t.Fatalf("got ok %v %v, want both", okA, okB)
			}
			if got := string(na) == string(nb); got != tt.wantEqual {
				t.Errorf("namespaces equal = %v, want %v:\n%s\n%s", got, tt.wantEqual, na, nb)
			}
		})
	}
}

// A member named twice is read as the upstream may read it, the last one
// too: {"store":false,"store":true} asks for a stored completion (found by
// audit V: it was cached, and served after the completion was deleted).
func TestAnyTopLevel(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{`{"store":true}`, true},
		{`{"store":false}`, false},
		{`{"store":false,"store":true}`, true},
		{`{"store":true,"store":false}`, true},
		{`{"metadata":{"store":true}}`, false},
		{`{"model":"m"}`, false},
	}
	for _, tt := range tests {
		if got := anyTopLevel([]byte(tt.body), "store", gjson.Result.Bool); got != tt.want {
			t.Errorf("anyTopLevel(%s) = %v, want %v", tt.body, got, tt.want)
		}
	}
}
