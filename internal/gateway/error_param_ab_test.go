package gateway_test

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestNoCapableDeploymentNamesParam: a 400 no_capable_deployment for what
// the route's deployments cannot serve names the request field in OpenAI's
// error.param, as the gateway's other 400s do (found by audit AB: the field
// was named only in the message, so SDK code reading err.param got null):
// a capability no deployment has, what no translation carries (the request
// can only be relayed), and what no deployment's API can say.
func TestNoCapableDeploymentNamesParam(t *testing.T) {
	f := newFixture(t)
	cfg := strings.Replace(gwConfig, "routes:", "  - {name: claude-json, provider: sim-anthropic, model: sim-large, capabilities: {json_mode: true}}\nroutes:", 1)
	if err := f.gw.Apply(f.conf(cfg + `
  - {name: anth-only, targets: [claude]}
  - {name: anth-json, targets: [claude-json]}
`)); err != nil {
		t.Fatal(err)
	}
	const hi = `"messages":[{"role":"user","content":"hi"}]`
	for _, tt := range []struct{ name, path, body, param string }{
		{"json_object, no json_mode deployment", oaPath, `{"model":"anth-only","response_format":{"type":"json_object"},` + hi + `}`, "response_format"},
		{"json_object, not carried", oaPath, `{"model":"anth-json","response_format":{"type":"json_object"},` + hi + `}`, "response_format"},
		{"logprobs", oaPath, `{"model":"anth-only","logprobs":true,` + hi + `}`, "logprobs"},
		{"top_logprobs alone", oaPath, `{"model":"anth-only","top_logprobs":2,` + hi + `}`, "top_logprobs"},
		{"n with stream", oaPath, `{"model":"anth-only","n":2,"stream":true,` + hi + `}`, "n"},
		{"Responses text.format json_object", "/v1/responses", `{"model":"anth-only","input":"hi","text":{"format":{"type":"json_object"}}}`, "text.format"},
		{"Responses background", "/v1/responses", `{"model":"anth-only","input":"hi","background":true}`, "background"},
		{"legacy Completions n", "/v1/completions", `{"model":"anth-only","prompt":"hi","n":2}`, "n"},
		{"legacy Completions several prompts", "/v1/completions", `{"model":"anth-only","prompt":["a","b"]}`, "prompt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := f.post(tt.path, tt.body)
			if resp.StatusCode != 400 || gjson.GetBytes(b, "error.param").Str != tt.param {
				t.Errorf("got %d %s, want 400 with param %q", resp.StatusCode, b, tt.param)
			}
		})
	}
}
