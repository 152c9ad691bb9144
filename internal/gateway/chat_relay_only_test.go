package gateway_test

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/gateway"
)

// TestChatRelayOnlyGoesToOpenAIDeployments: a Chat Completions request
// using what no translation carries (custom tools, an allowed_tools
// tool_choice) is sent to the route's OpenAI deployments only, even when
// an Anthropic one comes first; a route with none is a 400 naming the
// feature. A response_format an Anthropic deployment cannot honour, on a
// route of none that can, is a 400 no_capable_deployment naming it.
func TestChatRelayOnlyGoesToOpenAIDeployments(t *testing.T) {
	f := newFixture(t)
	// claude-json is claude marked for structured output.
	cfg := strings.Replace(gwConfig, "routes:", "  - {name: claude-json, provider: sim-anthropic, model: sim-large, capabilities: {json_mode: true}}\nroutes:", 1)
	if err := f.gw.Apply(f.conf(cfg + `
  - {name: anth-first, targets: [claude, medium]}
  - {name: anth-only, targets: [claude]}
  - {name: anth-json, targets: [claude-json]}
`)); err != nil {
		t.Fatal(err)
	}
	const fn = `{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{}}}}`
	allowed := `"tools":[` + fn + `],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"get_time"}}]}}`
	custom := `"tools":[{"type":"custom","custom":{"name":"code"}}]`
	chat := func(route, extra string) string {
		return `{"model":"` + route + `","messages":[{"role":"user","content":"what time is it?"}],` + extra + `}`
	}
	for _, tt := range []struct{ name, extra, feature string }{
		{"allowed_tools", allowed, `tool_choice of type \"allowed_tools\"`},
		{"custom tool", custom, `tools of type \"custom\"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := f.post(oaPath, chat("anth-first", tt.extra))
			if resp.StatusCode != 200 || resp.Header.Get(gateway.HeaderDeployment) != "medium" {
				t.Errorf("route with an OpenAI deployment: got %d from %q %s, want 200 from medium", resp.StatusCode, resp.Header.Get(gateway.HeaderDeployment), b)
			}
			resp, b = f.post(oaPath, chat("anth-only", tt.extra))
			if resp.StatusCode != 400 || gjson.GetBytes(b, "error.code").Str != "no_capable_deployment" || !strings.Contains(string(b), tt.feature) {
				t.Errorf("route without one: got %d %s, want 400 no_capable_deployment naming %s", resp.StatusCode, b, tt.feature)
			}
		})
	}
	// No deployment of the route can carry it: a 400 naming why (found
	// by audit A: the plan keeps the deployments that can).
	resp, b := f.post(oaPath, chat("anth-json", `"response_format":{"type":"json_object"}`))
	if resp.StatusCode != 400 || gjson.GetBytes(b, "error.code").Str != "no_capable_deployment" || !strings.Contains(string(b), "response_format") {
		t.Errorf("json_object: got %d %s, want 400 no_capable_deployment naming response_format", resp.StatusCode, b)
	}
}
