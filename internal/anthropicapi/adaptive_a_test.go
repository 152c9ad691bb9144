package anthropicapi

import (
	"errors"
	"slices"
	"testing"
)

// Adaptive thinking and output_config.effort are decoded for a
// translation (they were dropped); an effort Anthropic does not take is a
// 400 naming it; and a deployment not marked reasoning, which gets
// neither, has them named as dropped (found by audit A).
func TestAdaptiveThinkingDecoded(t *testing.T) {
	body := func(extra string) []byte {
		return []byte(`{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"hi"}]` + extra + `}`)
	}
	req, err := ParseChat(body(`,"thinking":{"type":"adaptive"},"output_config":{"effort":"xhigh","format":{"type":"json_schema","schema":{"type":"object"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := req.Body()
	if err != nil {
		t.Fatal(err)
	}
	if !b.ThinkingAdaptive || b.Effort != "xhigh" || b.ThinkingBudget != 0 || len(b.ResponseFormat) == 0 {
		t.Errorf("adaptive %v, effort %q, budget %d, format %s", b.ThinkingAdaptive, b.Effort, b.ThinkingBudget, b.ResponseFormat)
	}

	req, err = ParseChat(body(`,"output_config":{"effort":"extreme"}`))
	if err != nil {
		t.Fatal(err)
	}
	var bre *BadRequestError
	if _, err := req.Body(); !errors.As(err, &bre) || bre.Param != "output_config.effort" {
		t.Errorf("unknown effort: %v, want a bad request naming output_config.effort", err)
	}

	raw := body(`,"thinking":{"type":"adaptive"},"output_config":{"effort":"high"}`)
	if got, want := Untranslated(raw, false), []string{"thinking", "output_config.effort"}; !slices.Equal(got, want) {
		t.Errorf("not reasoning: %v, want %v", got, want)
	}
	if got := Untranslated(raw, true); len(got) != 0 {
		t.Errorf("reasoning: %v, want none", got)
	}
	if got := Untranslated(body(`,"output_config":{"format":{"type":"json_schema","schema":{}}}`), false); len(got) != 0 {
		t.Errorf("format only: %v, want none", got)
	}
}
