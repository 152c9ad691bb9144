package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRelayOnlyCompletionsAndTokenEmbeddings: a legacy Completions request
// using what only a completion model does (suffix, echo, logprobs, n or
// best_of above 1, token-id prompts), and embeddings of token ids, go to
// the route's deployments that can carry them, wherever they stand in
// the route; a route with none is a 400 naming why; and a failure of the
// one that can is the client's answer, not that 400.
func TestRelayOnlyCompletionsAndTokenEmbeddings(t *testing.T) {
	oa := newUpstreamLog(t, `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"text":"ok","index":0,"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)
	emb := newUpstreamLog(t, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1]}],"model":"e","usage":{"prompt_tokens":2,"total_tokens":2}}`)
	an := newUpstreamLog(t, anthropicAnswer)
	br := newUpstreamLog(t, `{"embedding":[0.1],"inputTextTokenCount":2}`)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"message":"the upstream is overloaded","type":"server_error"}}`)
	}))
	t.Cleanup(down.Close)
	base := gw(t, `
providers:
  - {name: oa, kind: openai, base_url: "`+oa.srv.URL+`/v1"}
  - {name: em, kind: openai, base_url: "`+emb.srv.URL+`/v1"}
  - {name: down, kind: openai, base_url: "`+down.URL+`/v1"}
  - {name: an, kind: anthropic, base_url: "`+an.srv.URL+`"}
  - {name: br, kind: bedrock, region: us-east-1, base_url: "`+br.srv.URL+`", api_key: k}
deployments:
  - {name: gpt, provider: oa, model: m}
  - {name: gpt-down, provider: down, model: m}
  - {name: claude, provider: an, model: m}
  - {name: titan, provider: br, model: amazon.titan-embed-text-v2:0, capabilities: {chat: false, embeddings: true}}
  - {name: oai-emb, provider: em, model: e, capabilities: {chat: false, embeddings: true}}
routes:
  - {name: code, targets: [claude, gpt]}
  - {name: code-down, targets: [gpt-down, claude]}
  - {name: claude-only, targets: [claude]}
  - {name: vectors, targets: [titan, oai-emb]}
  - {name: titan-only, targets: [titan]}
`, nil)
	post := func(path, body string) (int, string, string) {
		t.Helper()
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("X-Switchyard-Deployment"), string(b)
	}
	for _, extra := range []string{`"suffix":"\n\nprint(add(1, 2))"`, `"echo":true`, `"logprobs":2`, `"n":2`, `"best_of":3`} {
		body := `{"model":"code","prompt":"def add(a, b):","max_tokens":8,` + extra + `}`
		if code, dep, out := post("/v1/completions", body); code != http.StatusOK || dep != "gpt" {
			t.Errorf("%s on [claude, gpt]: %d from %q %s, want 200 from gpt", extra, code, dep, out)
		}
		body = `{"model":"claude-only","prompt":"def add(a, b):","max_tokens":8,` + extra + `}`
		code, _, out := post("/v1/completions", body)
		what := strings.Trim(strings.SplitN(extra, ":", 2)[0], `"`)
		if code != http.StatusBadRequest || !strings.Contains(out, "no_capable_deployment") || !strings.Contains(out, what) {
			t.Errorf("%s on [claude]: %d %s, want a 400 naming %s", extra, code, out, what)
		}
	}
	for _, prompt := range []string{`[1, 2, 3]`, `[[1, 2], [3]]`, `["a", "b"]`} {
		if code, dep, out := post("/v1/completions", `{"model":"code","prompt":`+prompt+`,"max_tokens":8}`); code != http.StatusOK || dep != "gpt" {
			t.Errorf("prompt %s on [claude, gpt]: %d from %q %s, want 200 from gpt", prompt, code, dep, out)
		}
	}
	// A plain prompt is still translated for the route's first deployment.
	if code, dep, out := post("/v1/completions", `{"model":"code","prompt":"hi","echo":false,"n":1,"logprobs":null}`); code != http.StatusOK || dep != "claude" {
		t.Errorf("plain prompt on [claude, gpt]: %d from %q %s, want 200 from claude", code, dep, out)
	}
	// The OpenAI deployment's failure is the answer, not a 400 from the
	// Anthropic one it would fail over to.
	if code, _, out := post("/v1/completions", `{"model":"code-down","prompt":"x","suffix":"y"}`); code < 500 || !strings.Contains(out, "overloaded") {
		t.Errorf("suffix on [gpt-down, claude]: %d %s, want gpt-down's failure", code, out)
	}

	if code, dep, out := post("/v1/embeddings", `{"model":"vectors","input":[[9906, 1917]]}`); code != http.StatusOK || dep != "oai-emb" {
		t.Errorf("token-id embeddings on [titan, oai-emb]: %d from %q %s, want 200 from oai-emb", code, dep, out)
	}
	if code, dep, out := post("/v1/embeddings", `{"model":"vectors","input":[9906, 1917]}`); code != http.StatusOK || dep != "oai-emb" {
		t.Errorf("a token array on [titan, oai-emb]: %d from %q %s, want 200 from oai-emb", code, dep, out)
	}
	if code, dep, out := post("/v1/embeddings", `{"model":"vectors","input":"hello world"}`); code != http.StatusOK || dep != "titan" {
		t.Errorf("text embeddings on [titan, oai-emb]: %d from %q %s, want 200 from titan", code, dep, out)
	}
	if code, _, out := post("/v1/embeddings", `{"model":"titan-only","input":[[9906, 1917]]}`); code != http.StatusBadRequest || !strings.Contains(out, "no_capable_deployment") || !strings.Contains(out, "token ids") {
		t.Errorf("token-id embeddings on [titan]: %d %s, want a 400 naming token ids", code, out)
	}
}
