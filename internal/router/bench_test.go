package router

import (
	"context"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// benchPrompt is about n cl100k tokens of English prose.
func benchPrompt(n int) string {
	const s = "The quick brown fox jumps over the lazy dog while the router picks a model. "
	return strings.Repeat(s, n/16+1)
}

func BenchmarkPlan(b *testing.B) {
	cached := func(context.Context, string, *llm.Request) (*llm.Response, error) {
		return &llm.Response{Text: "simple"}, nil
	}
	r, err := New(mustConfig(b), Options{Call: cached, Health: func(string) executor.Health { return executor.Health{State: "closed"} }})
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []struct {
		name string
		n    int
	}{{"1k", 1000}, {"10k", 10000}} {
		prompt := benchPrompt(size.n)
		for _, route := range []string{"chat", "cheap", "fast", "ab", "casc", "triage", "chain"} {
			b.Run(route+"/"+size.name, func(b *testing.B) {
				req := &llm.Request{Model: route, NumMessages: 2, SystemText: "You are helpful.", LastUserText: prompt, TextBytes: len(prompt) + 16}
				info := Info{KeyID: "k1", Tier: "pro"}
				_, _ = r.Plan(context.Background(), req, info) // load the tokenizer tables
				for b.Loop() {
					if _, err := r.Plan(context.Background(), req, info); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func mustConfig(b *testing.B) *config.Config {
	cfg, err := config.Parse([]byte(testConfig), func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}
