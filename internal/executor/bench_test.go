package executor

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// instant answers every call at once, for measuring executor overhead.
type instant struct{ resp *llm.Response }

func (p instant) Chat(context.Context, *llm.Request) (*llm.Response, error) { return p.resp, nil }
func (p instant) ChatStream(context.Context, *llm.Request) (llm.Stream, error) {
	return nil, nil
}
func (p instant) Dialect() llm.Dialect { return llm.DialectOpenAI }

// BenchmarkChatOverhead is the executor's cost per successful Chat call with
// production-like options (deadline, per-attempt timeout, breaker on).
func BenchmarkChatOverhead(b *testing.B) {
	e := New(Options{MaxAttempts: 4, RetriesPerDeployment: 1, BackoffBase: 100 * time.Millisecond,
		BackoffMax: 2 * time.Second, MaxRetryAfter: 5 * time.Second, Deadline: 2 * time.Minute,
		BreakerThreshold: 5, BreakerOpenFor: 5 * time.Second})
	plan := &Plan{Targets: []Target{
		{Deployment: "a", Provider: instant{resp: &llm.Response{Text: "hi"}}, ContextWindow: 128000, Timeout: time.Minute},
		{Deployment: "b", Provider: instant{resp: &llm.Response{Text: "hi"}}, ContextWindow: 128000, Timeout: time.Minute},
	}}
	req := &llm.Request{MaxTokens: 100}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := e.Chat(ctx, plan, req, 1000); err != nil {
			b.Fatal(err)
		}
	}
}
