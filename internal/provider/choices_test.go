package provider

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// TestChoices: n calls merge into one answer with the others in More, in
// call order, and the usage of all; one failing call fails the answer and
// cancels the calls still running; n of 1 is one call, unchanged.
func TestChoices(t *testing.T) {
	var calls atomic.Int32
	answer := func(ctx context.Context) (*llm.Response, error) {
		i := calls.Add(1)
		return &llm.Response{Text: string(rune('a' + i - 1)), Raw: []byte("{}"), Usage: llm.Usage{InputTokens: 10, OutputTokens: int(i)}}, nil
	}
	got, err := Choices(context.Background(), 3, answer)
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]bool{got.Text: true}
	for _, m := range got.More {
		texts[m.Text] = true
		if m.Raw != nil {
			t.Error("a merged choice kept its raw body")
		}
	}
	if len(got.More) != 2 || len(texts) != 3 || got.Raw != nil || got.Usage != (llm.Usage{InputTokens: 30, OutputTokens: 6}) {
		t.Errorf("got %+v, want three distinct answers, no raw body, usage 30 in and 6 out", got)
	}

	calls.Store(0)
	one, err := Choices(context.Background(), 1, answer)
	if err != nil || one.More != nil || one.Raw == nil || calls.Load() != 1 {
		t.Errorf("n 1: got %+v, %v after %d calls; want one call's answer as it came", one, err, calls.Load())
	}

	boom := errors.New("boom")
	var cancelled atomic.Int32
	_, err = Choices(context.Background(), 4, func(ctx context.Context) (*llm.Response, error) {
		if calls.Add(1) == 2 {
			return nil, boom
		}
		<-ctx.Done() // the others wait until the failure cancels them
		cancelled.Add(1)
		return nil, ctx.Err()
	})
	if !errors.Is(err, boom) || cancelled.Load() != 3 {
		t.Errorf("got %v with %d calls cancelled, want boom and 3", err, cancelled.Load())
	}
}
