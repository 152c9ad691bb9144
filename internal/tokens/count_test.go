package tokens

import (
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

var samples = []struct {
	name string
	text string
}{
	{"prose", "The quick brown fox jumps over the lazy dog. Routing picks the cheapest model that can answer well, and falls back to a larger one when the answer does not pass its checks. Engineers describe policies in configuration, and the gateway explains every decision in a response header. "},
	{"code", "func (r *Router) Plan(ctx context.Context, req *llm.Request, info Info) (Decision, error) {\n\tf := r.features(req, info)\n\tif f.InputTokens > 2000 {\n\t\treturn r.large(ctx, f)\n\t}\n\treturn r.small(ctx, f)\n}\n"},
	{"json", `{"id": 12345, "name": "switchyard", "tags": ["gateway", "llm", "router"], "price": {"input": 0.15, "output": 0.60}, "enabled": true, "regions": ["us-east-1", "eu-west-2"]}` + "\n"},
}

func TestEstimateCloseToCL100K(t *testing.T) {
	c := &Counter{ExactLimit: 1 << 30}
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			text := strings.Repeat(s.text, 8)
			exact, est := c.Count(text), Estimate(text)
			if ratio := float64(est) / float64(exact); ratio < 0.8 || ratio > 1.2 {
				t.Errorf("got estimate %d for %d exact tokens (ratio %.2f), want within 20%%", est, exact, ratio)
			}
		})
	}
}

func TestCountExactBelowLimit(t *testing.T) {
	c := NewCounter()
	tests := []struct {
		name string
		text string
		want int
	}{
		{"empty", "", 0},
		{"hello", "hello world", 2},
		{"tiktoken", "tiktoken is great!", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Count(tt.text); got != tt.want {
				t.Errorf("got %d tokens, want %d", got, tt.want)
			}
		})
	}
}

func TestCounterInput(t *testing.T) {
	c := NewCounter()
	req := &llm.Request{SystemText: "hello world", LastUserText: "hello world", TextBytes: 22 + 40, NumMessages: 3, HasImages: true}
	want := 2 + 2 + 10 + 3*perMessage + imageTokens
	if got := c.Input(req); got != want {
		t.Errorf("got %d, want %d", got, want)
	}
}

func benchText(tokens int) string {
	var b strings.Builder
	for b.Len() < tokens*4 {
		b.WriteString(samples[0].text)
	}
	return b.String()[:tokens*4]
}

func BenchmarkCountExact1k(b *testing.B) {
	c := &Counter{ExactLimit: 1 << 30}
	text := benchText(1000)
	c.Count(text)
	b.ResetTimer()
	for b.Loop() {
		c.Count(text)
	}
}

func BenchmarkEstimate1k(b *testing.B) {
	text := benchText(1000)
	for b.Loop() {
		Estimate(text)
	}
}

func BenchmarkEstimate10k(b *testing.B) {
	text := benchText(10000)
	for b.Loop() {
		Estimate(text)
	}
}
