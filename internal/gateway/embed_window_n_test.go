package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestEmbeddingsWindowPerInput: an embedding model's context_window bounds
// each input of a batch, not their sum: five inputs of about 3,000 tokens
// each reach a deployment with 8192, while one input over the window is
// still refused without a call.
func TestEmbeddingsWindowPerInput(t *testing.T) {
	up := newUpstreamLog(t, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1]},{"object":"embedding","index":1,"embedding":[0.1]},{"object":"embedding","index":2,"embedding":[0.1]},{"object":"embedding","index":3,"embedding":[0.1]},{"object":"embedding","index":4,"embedding":[0.1]}],"model":"e","usage":{"prompt_tokens":15000,"total_tokens":15000}}`)
	base := gw(t, `
providers:
  - {name: oa, kind: openai, base_url: "`+up.srv.URL+`/v1"}
deployments:
  - {name: emb, provider: oa, model: e, context_window: 8192, capabilities: {chat: false, embeddings: true}}
`, nil)
	post := func(inputs any) (int, string) {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"model": "emb", "input": inputs})
		resp, err := http.Post(base+"/v1/embeddings", "application/json", strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	chunk := strings.Repeat("word ", 2400) // 12,000 bytes: about 3,000 tokens
	batch := []string{chunk, chunk, chunk, chunk, chunk}
	if code, body := post(batch); code != http.StatusOK {
		t.Fatalf("a batch of inputs that each fit: %d %s", code, body)
	}
	if n := len(up.calls()); n != 1 {
		t.Fatalf("upstream calls = %d, want 1", n)
	}
	tokenBatch := make([][]int, 5)
	for i := range tokenBatch {
		tokenBatch[i] = make([]int, 3000)
	}
	if code, body := post(tokenBatch); code != http.StatusOK {
		t.Fatalf("a batch of token arrays that each fit: %d %s", code, body)
	}
	big := strings.Repeat("word ", 8000) // about 10,000 tokens
	code, body := post([]string{"short", big})
	if code != http.StatusBadRequest || !strings.Contains(body, "context_length_exceeded") {
		t.Fatalf("an input over the window: %d %s", code, body)
	}
	if n := len(up.calls()); n != 2 {
		t.Fatalf("upstream calls = %d, want 2 (the input over the window is not sent)", n)
	}
}
