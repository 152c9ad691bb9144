package bedrock

import (
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// TestDefaultMaxTokensFitsTheWindow: the maxTokens sent for a request that
// sets none is the deployment's output limit as far as its context window
// leaves room after the estimated input (and a quarter more), at least
// 256; none when the deployment has no limit; a limit the client set goes
// as it is.
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
		{"no limit", 8192, 0, 0, prompt, func(n int) bool { return n == 0 }},
		{"no room: the floor", 4096, 4096, 0, prompt, func(n int) bool { return n == 256 }},
		{"client's own", 8192, 4096, 4096, prompt, func(n int) bool { return n == 4096 }},
	}
	for _, tt := range tests {
		c := New(provider.Config{Model: "m", Region: "us-east-1", APIKey: "k", MaxOutputTokens: tt.max, ContextWindow: tt.window})
		req := &llm.Request{MaxTokens: tt.set, NumMessages: 1, LastUserText: tt.text, TextBytes: len(tt.text)}
		req.SetBody(&llm.Body{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: tt.text}}}}})
		out, err := c.converse(req)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		if out.InferenceConfig != nil {
			got = out.InferenceConfig.MaxTokens
		}
		if !tt.want(got) {
			t.Errorf("%s: got maxTokens %d", tt.name, got)
		}
	}
}
