package anthropic

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// TestDefaultMaxTokensFitsTheWindow: the max_tokens sent for a request
// that sets none is the deployment's output limit as far as its context
// window leaves room after the estimated input (and a quarter more), at
// least 256; a limit the client set goes as it is.
func TestDefaultMaxTokensFitsTheWindow(t *testing.T) {
	prompt := strings.Repeat("hello world. ", 1500)
	tests := []struct {
		name             string
		window, max, set int
		text             string
		want             func(int) bool
	}{
		{"room left", 8192, 4096, 0, prompt, func(n int) bool { return n > 1000 && n < 8192-4877 }},
		{"no window", 0, 4096, 0, prompt, func(n int) bool { return n == 4096 }},
		{"small input", 8192, 4096, 0, "hi", func(n int) bool { return n == 4096 }},
		{"no room: the floor", 4096, 4096, 0, prompt, func(n int) bool { return n == 256 }},
		{"client's own", 8192, 4096, 4096, prompt, func(n int) bool { return n == 4096 }},
	}
	for _, tt := range tests {
		c := New(provider.Config{Model: "m", MaxOutputTokens: tt.max, ContextWindow: tt.window})
		req := &llm.Request{MaxTokens: tt.set, NumMessages: 1, LastUserText: tt.text, TextBytes: len(tt.text)}
		req.SetBody(&llm.Body{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: tt.text}}}}})
		b, err := c.translate(req, false)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			MaxTokens int `json:"max_tokens"`
		}
		if err := json.Unmarshal(b, &out); err != nil || !tt.want(out.MaxTokens) {
			t.Errorf("%s: got max_tokens %d (%v)", tt.name, out.MaxTokens, err)
		}
	}
}
