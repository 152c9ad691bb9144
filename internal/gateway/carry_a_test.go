package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestCarryPlan: a request one deployment's translation cannot carry (an
// image URL on Bedrock, an OpenAI file part on Anthropic, json_object on
// Bedrock) goes to the route's deployments that can, wherever they stand
// in the route, without calling the one that cannot (nor counting it as an
// attempt); a route with none is a 400 no_capable_deployment naming why;
// and explain agrees (found by audit A).
func TestCarryPlan(t *testing.T) {
	oa := newUpstreamLog(t, openAIAnswer)
	an := newUpstreamLog(t, anthropicAnswer)
	br := newUpstreamLog(t, `{"output":{"message":{"role":"assistant","content":[{"text":"ok"}]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}`)
	base := gw(t, `
providers:
  - {name: oa, kind: openai, base_url: "`+oa.srv.URL+`/v1"}
  - {name: an, kind: anthropic, base_url: "`+an.srv.URL+`"}
  - {name: br, kind: bedrock, region: us-east-1, base_url: "`+br.srv.URL+`", api_key: k}
deployments:
  - {name: gpt, provider: oa, model: m, capabilities: {vision: true, json_mode: true}}
  - {name: claude, provider: an, model: m, capabilities: {vision: true, json_mode: true}}
  - {name: claude-br, provider: br, model: anthropic.claude-x, capabilities: {vision: true, json_mode: true}}
routes:
  - {name: vis, targets: [claude-br, claude]}
  - {name: pdf, targets: [claude, gpt]}
  - {name: json, targets: [claude-br, gpt]}
  - {name: br-only, targets: [claude-br]}
`, nil)
	post := func(path, body string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("anthropic-version", "2023-06-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
	urlImage := `{"model":"%s","messages":[{"role":"user","content":[{"type":"text","text":"what is it?"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`
	for _, tc := range []struct {
		name, path, body, dep string
	}{
		{"image URL, OpenAI client", "/v1/chat/completions", strings.Replace(urlImage, "%s", "vis", 1), "claude"},
		{"image URL, Anthropic client", "/v1/messages", `{"model":"vis","max_tokens":50,"messages":[{"role":"user","content":[{"type":"text","text":"what is it?"},{"type":"image","source":{"type":"url","url":"https://example.com/cat.png"}}]}]}`, "claude"},
		{"file part", "/v1/chat/completions", `{"model":"pdf","messages":[{"role":"user","content":[{"type":"text","text":"sum it up"},{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0="}}]}]}`, "gpt"},
		{"json_object", "/v1/chat/completions", `{"model":"json","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"json please"}]}`, "gpt"},
		{"inline image still first", "/v1/chat/completions", `{"model":"vis","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + png + `"}}]}]}`, "claude-br"},
	} {
		before := len(br.calls())
		code, h, out := post(tc.path, tc.body)
		if code != http.StatusOK || h.Get("X-Switchyard-Deployment") != tc.dep || h.Get("X-Switchyard-Attempts") != "1" {
			t.Errorf("%s: %d from %q (attempts %q) %s, want 200 from %s in one attempt", tc.name, code, h.Get("X-Switchyard-Deployment"), h.Get("X-Switchyard-Attempts"), out, tc.dep)
		}
		if tc.dep != "claude-br" && len(br.calls()) != before {
			t.Errorf("%s: Bedrock was called: %q", tc.name, br.calls()[before:])
		}
	}
	if n := len(an.calls()); n != 2 {
		t.Errorf("the Anthropic deployment got %d calls, want 2 (the image URLs; the pdf route's file part went to gpt)", n)
	}

	before := len(br.calls())
	code, h, out := post("/v1/chat/completions", strings.Replace(urlImage, "%s", "br-only", 1))
	if code != http.StatusBadRequest || !strings.Contains(out, "no_capable_deployment") || !strings.Contains(out, "image URLs") {
		t.Errorf("image URL on [claude-br]: %d %s, want a 400 no_capable_deployment naming image URLs", code, out)
	}
	if a := h.Get("X-Switchyard-Attempts"); a != "" && a != "0" {
		t.Errorf("image URL on [claude-br]: X-Switchyard-Attempts %q, want no attempt", a)
	}
	if len(br.calls()) != before {
		t.Errorf("Bedrock was called: %q", br.calls()[before:])
	}

	var ex struct {
		Deployments []string `json:"deployments"`
		Skipped     []string `json:"skipped"`
		Error       *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	code, _, out = post("/v1/route/explain", strings.Replace(urlImage, "%s", "vis", 1))
	if err := json.Unmarshal([]byte(out), &ex); err != nil || code != http.StatusOK || strings.Join(ex.Deployments, ",") != "claude" ||
		len(ex.Skipped) != 1 || !strings.HasPrefix(ex.Skipped[0], "claude-br: ") || !strings.Contains(ex.Skipped[0], "image URLs") {
		t.Errorf("explain on [claude-br, claude]: %d %s", code, out)
	}
	ex.Error = nil
	code, _, out = post("/v1/route/explain", strings.Replace(urlImage, "%s", "br-only", 1))
	if err := json.Unmarshal([]byte(out), &ex); err != nil || code != http.StatusBadRequest || ex.Error == nil || ex.Error.Code != "no_capable_deployment" {
		t.Errorf("explain on [claude-br]: %d %s, want 400 no_capable_deployment", code, out)
	}
}
