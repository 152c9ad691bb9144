package gateway

import (
	"slices"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/anthropicapi"
)

// TestBedrockLostNamesNestedFields: a field the translation leaves out
// inside a carried one (an Anthropic client's output_config.effort to a
// deployment not marked reasoning) is named for a Bedrock deployment as
// for the other APIs, in body order with Bedrock's own losses.
func TestBedrockLostNamesNestedFields(t *testing.T) {
	for _, tt := range []struct {
		body string
		want []string
	}{
		{`{"model":"m","output_config":{"effort":"high"},"messages":[]}`, []string{"output_config.effort"}},
		{`{"model":"m","thinking":{"type":"adaptive"},"output_config":{"effort":"high"},"metadata":{"user_id":"u"},"top_k":5}`,
			[]string{"thinking", "output_config.effort", "metadata", "top_k"}},
		{`{"model":"m","output_config":{"effort":null}}`, nil},
		{`{"model":"m","output_config":{"format":{"type":"json_schema"}}}`, nil},
	} {
		got := bedrockLost([]byte(tt.body), anthropicapi.Untranslated([]byte(tt.body), false))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.body, got, tt.want)
		}
	}
}
