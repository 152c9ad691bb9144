package app

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestDocumentInputTokens: a document sent as an OpenAI file part or an
// Anthropic document block, and OpenAI input audio, count in the input
// tokens routing uses (rules, cheapest's price, the context-window
// filter); they counted as nothing, so a 27k-token document went to a
// deployment with an 8k window. (OpenAI file and audio parts go to
// OpenAI deployments only: no translation carries them.)
func TestDocumentInputTokens(t *testing.T) {
	cfg := strings.Replace(baseConfig, "deployments:\n", `deployments:
  - name: claude-small
    provider: sim-anthropic
    model: sim-large
    context_window: 8192
    max_output_tokens: 1024
  - name: gpt-small
    provider: sim-openai
    model: sim-large
    context_window: 8192
    max_output_tokens: 1024
`, 1) + `
  - name: docs
    targets: [claude-small, claude]
  - name: oa-docs
    targets: [gpt-small, medium]
`
	s := startStack(t, fastSim(), cfg)
	big := strings.Repeat("lorem ipsum dolor sit amet ", 4000) // 108 KB of text
	b64 := base64.StdEncoding.EncodeToString([]byte(big))

	parts := func(part string) string {
		return `{"model":"oa-docs","messages":[{"role":"user","content":[` + part + `,{"type":"text","text":"summarise"}]}]}`
	}
	for _, tt := range []struct {
		name, part string
		min, max   int
	}{
		{"text file", `{"type":"file","file":{"filename":"doc.txt","file_data":"data:text/plain;base64,` + b64 + `"}}`, 20000, 40000},
		// 1.6 MB of PDF at 32 bytes a token.
		{"pdf file", `{"type":"file","file":{"filename":"doc.pdf","file_data":"data:application/pdf;base64,` + strings.Repeat("QUJD", 400000) + `"}}`, 30000, 60000},
		// 10 s of 16 kHz 16-bit mono wav: 10 tokens a second.
		{"wav audio", `{"type":"input_audio","input_audio":{"format":"wav","data":"` + strings.Repeat("QUJD", 320000/3) + `"}}`, 90, 200},
	} {
		code, ex := s.explain(parts(tt.part))
		if code != 200 || ex.Features == nil {
			t.Fatalf("%s: explain got %d %+v", tt.name, code, ex)
		}
		if n := ex.Features.InputTokens; n < tt.min || n > tt.max {
			t.Errorf("%s: got input_tokens %d, want %d..%d", tt.name, n, tt.min, tt.max)
		}
		if tt.min > 8192 && (len(ex.Deployments) == 0 || ex.Deployments[0] != "medium") {
			t.Errorf("%s: got plan %v (skipped %v), want gpt-small skipped for its context window", tt.name, ex.Deployments, ex.Skipped)
		}
	}

	doc, _ := json.Marshal(big)
	body := `{"model":"docs","max_tokens":50,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":` +
		string(doc) + `}},{"type":"text","text":"summarise"}]}]}`
	resp, b := s.post("/v1/messages", body, "anthropic-version", "2023-06-01")
	if resp.StatusCode != 200 {
		t.Fatalf("messages: got %d %s", resp.StatusCode, b)
	}
	if d := resp.Header.Get("X-Switchyard-Deployment"); d != "claude" {
		t.Errorf("document block: answered by %q (reason %q), want claude: claude-small's 8k window cannot hold it", d, resp.Header.Get("X-Switchyard-Reason"))
	}
}
