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
	// parallel_tool_calls false has a counterpart each way.
	tools := `"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]`
	code, body, h = s.send("/v1/chat/completions", `{"model":"claude","messages":[{"role":"user","content":"Hi"}],`+tools+`,"parallel_tool_calls":false}`)
	if up := rec.body(); code != 200 || h.Get("X-Switchyard-Dropped-Params") != "" ||
		gjson.GetBytes(up, "tool_choice.type").Str != "auto" || !gjson.GetBytes(up, "tool_choice.disable_parallel_tool_use").Bool() {
		t.Errorf("parallel_tool_calls false to claude: %d, dropped %q, upstream %s; %s", code, h.Get("X-Switchyard-Dropped-Params"), up, body)
	}
	code, body, _ = s.send("/v1/messages", `{"model":"medium","max_tokens":50,"tools":[{"name":"f","input_schema":{"type":"object"}}],`+
		`"tool_choice":{"type":"any","disable_parallel_tool_use":true},"messages":[{"role":"user","content":"Hi"}]}`, "anthropic-version", "2023-06-01")
	if up := rec.body(); code != 200 || gjson.GetBytes(up, "parallel_tool_calls").Raw != "false" || gjson.GetBytes(up, "tool_choice").Str != "required" {
		t.Errorf("disable_parallel_tool_use to medium: %d, upstream %s; %s", code, up, body)
	}

	// The Responses API translated for claude.
	code, body, h = s.send("/v1/responses", `{"model":"claude","input":"Hi","truncation":"auto","max_output_tokens":40}`)
	if code != 200 || h.Get("X-Switchyard-Dropped-Params") != "truncation" {
		t.Errorf("responses to claude: %d, dropped %q; %s", code, h.Get("X-Switchyard-Dropped-Params"), body)
	}
	// Relayed to an OpenAI deployment, it gets every field, and nothing
	// is named (not even fields no translation carries).
	code, body, h = s.send("/v1/responses", `{"model":"medium","input":"Hi","truncation":"auto","custom_thing":1}`)
	if code != 200 || h.Get("X-Switchyard-Dropped-Params") != "" || gjson.GetBytes(rec.body(), "truncation").Str != "auto" {
		t.Errorf("responses to medium: %d, dropped %q, upstream %s; %s", code, h.Get("X-Switchyard-Dropped-Params"), rec.body(), body)
	}
}

// TestRequireParams: a request that requires its params (the header, or
// its route's require_params) skips deployments that would not get all of
// them, is a 400 naming them when none would, and is never served an
// answer such a deployment made from the cache.
func TestRequireParams(t *testing.T) {
	simURL := startSim(t, fastSim())
	s := startEditedTenantStack(t, simURL, storeOnly(t)+"cache: {backend: memory, ttl: 1m}\n", func(c string) string {
		return strings.Replace(c, "  - name: anthropic-first\n", "  - name: strict\n    targets: [claude, medium]\n    require_params: true\n  - name: anthropic-first\n", 1)
	})
	body := func(model, extra string) string {
		return `{"model":"` + model + `","messages":[{"role":"user","content":"Hi there"}]` + extra + `}`
	}
	served := func(what string, code int, resp string, h http.Header, want string) {
		t.Helper()
		if code != 200 || h.Get("X-Switchyard-Deployment") != want {
			t.Errorf("%s: %d by %q, want 200 by %s; %s", what, code, h.Get("X-Switchyard-Deployment"), want, resp)
		}
	}
	// Not required: claude, first in line, answers without seed (and the
	// answer is cached).
	code, resp, h := s.send("/v1/chat/completions", body("anthropic-first", `,"seed":7`))
	served("not required", code, resp, h, "claude")
	// Required by the header: claude is skipped, medium gets the seed,
	// and claude's cached answer is not served.
	code, resp, h = s.send("/v1/chat/completions", body("anthropic-first", `,"seed":7`), "X-Switchyard-Require-Params", "true")
	served("required by header", code, resp, h, "medium")
	if r := h.Get("X-Switchyard-Reason"); !strings.Contains(r, "require_params: skipped claude (seed)") {
		t.Errorf("reason %q, want it to say claude was skipped for seed", r)
	}
	if h.Get("X-Switchyard-Cache") == "hit" {
		t.Error("a required request was served an answer made without its seed")
	}
	// A body of thousands of unknown fields names 16 of them, as
	// X-Switchyard-Dropped-Params does, not a header no client reads
	// (found by audit AF: 3,000 fields made a 36 KB header).
	var many strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&many, `,"x%d":1`, i)
	}
	code, resp, h = s.send("/v1/chat/completions", body("anthropic-first", many.String()), "X-Switchyard-Require-Params", "true")
	served("required, many unknown fields", code, resp, h, "medium")
	if r := h.Get("X-Switchyard-Reason"); len(r) > 1000 || !strings.Contains(r, "x15, ...)") {
		t.Errorf("reason of %d bytes %.200q, want 16 names and ...", len(r), r)
	}
	// Nothing to lose: claude serves it, required or not.
	code, resp, h = s.send("/v1/chat/completions", body("anthropic-first", `,"temperature":0.2`), "X-Switchyard-Require-Params", "true")
	served("required, nothing lost", code, resp, h, "claude")
	// Required by the route; the header can lift it.
	code, resp, h = s.send("/v1/chat/completions", body("strict", `,"seed":7`))
	served("strict route", code, resp, h, "medium")
	code, resp, h = s.send("/v1/chat/completions", body("strict", `,"seed":8`), "X-Switchyard-Require-Params", "false")
	served("strict route, header false", code, resp, h, "claude")
	// None can take it whole: a 400 naming what would be lost, in the
	// client's API's shape.
	code, resp, _ = s.send("/v1/chat/completions", body("claude", `,"seed":7,"logit_bias":{"1":1}`), "X-Switchyard-Require-Params", "true")
	if code != 400 || gjson.Get(resp, "error.code").Str != "unsupported_parameter" || !strings.Contains(gjson.Get(resp, "error.message").Str, "claude (seed, logit_bias)") {
		t.Errorf("no deployment takes it whole: %d %s", code, resp)
	}
	code, resp, _ = s.send("/v1/messages", `{"model":"strict","max_tokens":20,"top_k":3,"messages":[{"role":"user","content":"Hi"}]}`, "anthropic-version", "2023-06-01")
	if code != 200 {
		t.Errorf("messages with top_k on strict: %d %s, want claude to take it", code, resp)
	}
	code, resp, _ = s.send("/v1/messages", `{"model":"medium","max_tokens":20,"top_k":3,"messages":[{"role":"user","content":"Hi"}]}`,
		"anthropic-version", "2023-06-01", "X-Switchyard-Require-Params", "true")
	if code != 400 || gjson.Get(resp, "error.type").Str != "invalid_request_error" || !strings.Contains(resp, "top_k") {
		t.Errorf("messages with top_k required on medium: %d %s", code, resp)
	}
	// Route explain plans the same.
	code, resp, _ = s.send("/v1/route/explain", body("anthropic-first", `,"seed":7`), "X-Switchyard-Require-Params", "true")
	if code != 200 || gjson.Get(resp, "deployments").Raw != `["medium"]` || !strings.Contains(gjson.Get(resp, "skipped").Raw, "claude: require_params") {
		t.Errorf("explain: %d %s, want medium only, claude skipped", code, resp)
	}
	code, resp, _ = s.send("/v1/route/explain", body("claude", `,"seed":7`), "X-Switchyard-Require-Params", "true")
	if code != 400 || gjson.Get(resp, "error.code").Str != "unsupported_parameter" || gjson.Get(resp, "deployments").Raw != `[]` {
		t.Errorf("explain with nothing left: %d %s", code, resp)
	}
	code, resp, _ = s.send("/v1/chat/completions", body("auto", ""), "X-Switchyard-Require-Params", "yes")
	if code != 400 || !strings.Contains(resp, "true or false") {
		t.Errorf("header yes: %d %s, want a 400", code, resp)
	}
}
