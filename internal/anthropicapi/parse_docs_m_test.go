package anthropicapi

import (
	"strings"
	"testing"
)

// TestDocumentBlocksCount: document blocks count in TextBytes (the input
// token estimate) by their content, base64 data by its length alone.
func TestDocumentBlocksCount(t *testing.T) {
	text := strings.Repeat("a", 4000)
	pdf := strings.Repeat("QUJD", 8000) // 24,000 bytes decoded: 750 tokens, 3,000 text bytes
	for _, tt := range []struct {
		name, block string
		want        int
		images      bool
	}{
		{"text", `{"type":"document","title":"t","source":{"type":"text","media_type":"text/plain","data":"` + text + `"}}`, 4001, false},
		{"pdf", `{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"` + pdf + `"}}`, 3000, false},
		{"base64 text", `{"type":"document","source":{"type":"base64","media_type":"text/plain","data":"` + pdf + `"}}`, 24000, false},
		{"content", `{"type":"document","source":{"type":"content","content":[{"type":"text","text":"` + text + `"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]}}`, 4000, true},
		{"url", `{"type":"document","source":{"type":"url","url":"https://example.com/a.pdf"}}`, 0, false},
		{"in a tool result", `{"type":"tool_result","tool_use_id":"t1","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"` + text + `"}}]}`, 4000, false},
	} {
		body := `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[` + tt.block + `,{"type":"text","text":"hi"}]}]}`
		req, err := ParseChat([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := req.TextBytes - len("hi"); got != tt.want || req.HasImages != tt.images {
			t.Errorf("%s: got %d text bytes, images %v; want %d, %v", tt.name, got, req.HasImages, tt.want, tt.images)
		}
		if req.RelayOnly == "" || req.LastUserText != "hi" {
			t.Errorf("%s: got relay-only %q, last user text %q; want it relay-only and only the text block as the user's text", tt.name, req.RelayOnly, req.LastUserText)
		}
	}
}
