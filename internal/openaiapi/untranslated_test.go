package openaiapi

import (
	"slices"
	"testing"
)

func TestUntranslated(t *testing.T) {
	body := []byte(`{"model":"m","messages":[],"seed":1,"reasoning_effort":"low","presence_penalty":null,"n":1,"store":true,"parallel_tool_calls":false}`)
	if got, want := Untranslated(body, false), []string{"seed", "reasoning_effort", "store"}; !slices.Equal(got, want) {
		t.Errorf("not reasoning: %q, want %q", got, want)
	}
	if got, want := Untranslated(body, true), []string{"seed", "store"}; !slices.Equal(got, want) {
		t.Errorf("reasoning: %q, want %q", got, want)
	}
	rs := []byte(`{"model":"m","input":"x","store":false,"previous_response_id":"resp_1","reasoning":{"effort":"high"},"include":["x"],"metadata":{"a":"b"}}`)
	if got, want := UntranslatedResponses(rs, false), []string{"reasoning", "include", "metadata"}; !slices.Equal(got, want) {
		t.Errorf("responses: %q, want %q", got, want)
	}
	if got := UntranslatedResponses(rs, true); slices.Contains(got, "reasoning") {
		t.Errorf("responses to a reasoning model: %q names reasoning", got)
	}
	// text is carried for its format, not its verbosity (found by audit
	// AB: the verbosity was dropped unnamed).
	text := []byte(`{"model":"m","input":"x","text":{"format":{"type":"text"},"verbosity":"low","x":null},"seed":1}`)
	if got, want := UntranslatedResponses(text, false), []string{"text.verbosity", "seed"}; !slices.Equal(got, want) {
		t.Errorf("responses text: %q, want %q", got, want)
	}
}
