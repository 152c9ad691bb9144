package app

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"
)

// bodyRecorder is a reverse proxy in front of the simulator that keeps the
// last request body it forwarded, so a test sees what a deployment got.
type bodyRecorder struct {
	mu   sync.Mutex
	last []byte
}

func (br *bodyRecorder) body() []byte {
	br.mu.Lock()
	defer br.mu.Unlock()
	return br.last
}

func startBodyRecorder(t *testing.T, target string) (*bodyRecorder, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	br := &bodyRecorder{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		br.mu.Lock()
		br.last = b
		br.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return br, srv.URL
}

// TestDroppedParamsHeader: a translated request's answer names the fields
// the deployment never got, and they are indeed not in what it got; a
// relayed request passes every field and names none.
func TestDroppedParamsHeader(t *testing.T) {
	simURL := startSim(t, fastSim())
	rec, proxyURL := startBodyRecorder(t, simURL)
	s := startEditedTenantStack(t, simURL, storeOnly(t), func(c string) string {
		return strings.ReplaceAll(c, "base_url: "+simURL, "base_url: "+proxyURL)
	})
	const chat = `{"model":%q,"messages":[{"role":"user","content":"Hi"}],"temperature":0.5,"seed":7,"logit_bias":{"50256":-100},` +
		`"frequency_penalty":0.1,"reasoning_effort":"low","custom_thing":1,"weird key\n":2,"top_p":null%s}`
	for _, stream := range []string{"", `,"stream":true`} {
		code, body, h := s.send("/v1/chat/completions", fmt.Sprintf(chat, "claude", stream))
		if code != 200 {
			t.Fatalf("to claude (stream %q): %d %s", stream, code, body)
		}
		// claude is not marked reasoning: reasoning_effort goes too. The
		// oddly named field is dropped but not named; null is unset.
		if got, want := h.Get("X-Switchyard-Dropped-Params"), "seed, logit_bias, frequency_penalty, reasoning_effort, custom_thing"; got != want {
			t.Errorf("to claude (stream %q): dropped %q, want %q", stream, got, want)
		}
		up := rec.body()
		for _, f := range []string{"seed", "logit_bias", "frequency_penalty", "reasoning_effort", "custom_thing", "thinking"} {
			if gjson.GetBytes(up, f).Exists() {
				t.Errorf("claude got %s: %s", f, up)
			}
		}
		if gjson.GetBytes(up, "temperature").Float() != 0.5 {
			t.Errorf("claude did not get the temperature: %s", up)
		}
	}
	// Relayed: everything reaches the deployment, and nothing is named.
	// (The simulator refuses reasoning_effort for a model without
	// reasoning, as OpenAI does.)
	code, body, h := s.send("/v1/chat/completions", strings.Replace(fmt.Sprintf(chat, "medium", ""), `"reasoning_effort":"low",`, "", 1))
	if code != 200 || h.Get("X-Switchyard-Dropped-Params") != "" {
		t.Errorf("to medium: %d, dropped %q, want none; %s", code, h.Get("X-Switchyard-Dropped-Params"), body)
	}
	if up := rec.body(); gjson.GetBytes(up, "seed").Int() != 7 || gjson.GetBytes(up, "custom_thing").Int() != 1 {
		t.Errorf("medium did not get every field: %s", up)
	}
	// An Anthropic client's top_k has no OpenAI counterpart.
	code, body, h = s.send("/v1/messages", `{"model":"medium","max_tokens":50,"top_k":5,"messages":[{"role":"user","content":"Hi"}]}`,
		"anthropic-version", "2023-06-01")
	if code != 200 || h.Get("X-Switchyard-Dropped-Params") != "top_k" || gjson.GetBytes(rec.body(), "top_k").Exists() {
		t.Errorf("messages to medium: %d, dropped %q, upstream %s; %s", code, h.Get("X-Switchyard-Dropped-Params"), rec.body(), body)
	}
	// The Responses API translated for claude.
	code, body, h = s.send("/v1/responses", `{"model":"claude","input":"Hi","truncation":"auto","max_output_tokens":40}`)
	if code != 200 || h.Get("X-Switchyard-Dropped-Params") != "truncation" {
		t.Errorf("responses to claude: %d, dropped %q; %s", code, h.Get("X-Switchyard-Dropped-Params"), body)
	}
}
