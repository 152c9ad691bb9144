package provider

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Choices answers a request for n choices (OpenAI's n) from a provider
// whose API answers one per call: it makes the n calls at once and merges
// their answers into one, the first call's with the others in More, in
// order, and the usage of all of them. The first call to fail fails the
// whole answer, and the calls still running are cancelled: a client that
// asked for n choices never gets fewer. n of 1 or less is one call.
func Choices(ctx context.Context, n int, call func(context.Context) (*llm.Response, error)) (*llm.Response, error) {
	if n <= 1 {
		return call(ctx)
	}
	answers := make([]*llm.Response, n)
	g, gctx := errgroup.WithContext(ctx)
	for i := range answers {
		g.Go(func() error {
			a, err := call(gctx)
			answers[i] = a
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	first := answers[0]
	first.More = make([]llm.Response, 0, n-1)
	for _, a := range answers[1:] {
		first.Usage.InputTokens += a.Usage.InputTokens
		first.Usage.CachedInputTokens += a.Usage.CachedInputTokens
		first.Usage.CacheWriteTokens += a.Usage.CacheWriteTokens
		first.Usage.OutputTokens += a.Usage.OutputTokens
		first.Usage.Estimated = first.Usage.Estimated || a.Usage.Estimated
		a.Raw = nil // the merged answer is encoded from its fields
		first.More = append(first.More, *a)
	}
	first.Raw = nil
	return first, nil
}
