package anthropicapi

import (
	"slices"
	"testing"
)

func TestUntranslated(t *testing.T) {
	body := []byte(`{"model":"m","max_tokens":5,"messages":[],"top_k":3,"thinking":{"type":"enabled","budget_tokens":2048},"service_tier":"auto","metadata":{"user_id":"u"},"stop_sequences":null}`)
	if got, want := Untranslated(body, false), []string{"top_k", "thinking", "service_tier"}; !slices.Equal(got, want) {
		t.Errorf("not reasoning: %q, want %q", got, want)
	}
	if got, want := Untranslated(body, true), []string{"top_k", "service_tier"}; !slices.Equal(got, want) {
		t.Errorf("reasoning: %q, want %q", got, want)
	}
}
