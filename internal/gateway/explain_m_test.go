package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestExplainLeavesOutWhatServingSkips: POST /v1/route/explain leaves out
// the deployments serving would: for a request only OpenAI's own API
// serves (a custom tool), those that would get it translated; when that
// leaves none it is the 400 serving answers. It showed the router's plan.
func TestExplainLeavesOutWhatServingSkips(t *testing.T) {
	f := newFixture(t)
	if err := f.gw.Apply(f.conf(`
providers:
  - {name: sim-openai, kind: openai, base_url: "{{SIM}}/v1"}
  - {name: sim-anthropic, kind: anthropic, base_url: "{{SIM}}"}
deployments:
  - {name: medium, provider: sim-openai, model: sim-medium}
  - {name: claude, provider: sim-anthropic, model: sim-large}
routes:
  - {name: auto, targets: [claude, medium]}
  - {name: anth, targets: [claude]}
`)); err != nil {
		t.Fatal(err)
	}
	body := func(model string) string {
		return `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"custom","custom":{"name":"grep"}}]}`
	}
	var ex struct {
		Deployments []string `json:"deployments"`
		Skipped     []string `json:"skipped"`
		Error       *struct{ Code string }
	}
	resp, b := f.post("/v1/route/explain", body("auto"))
	if err := json.Unmarshal(b, &ex); err != nil || resp.StatusCode != 200 {
		t.Fatalf("explain auto: got %d %s", resp.StatusCode, b)
	}
	if strings.Join(ex.Deployments, ",") != "medium" || !strings.Contains(strings.Join(ex.Skipped, ";"), `claude: does not serve tools of type "custom"`) {
		t.Errorf("explain auto: got deployments %v skipped %v, want medium alone, claude skipped", ex.Deployments, ex.Skipped)
	}
	live, lb := f.post(oaPath, body("auto"))
	if live.StatusCode != 200 || live.Header.Get("X-Switchyard-Deployment") != "medium" {
		t.Errorf("served: got %d by %q (%s), want medium as explained", live.StatusCode, live.Header.Get("X-Switchyard-Deployment"), lb)
	}

	ex.Error = nil
	resp, b = f.post("/v1/route/explain", body("anth"))
	if err := json.Unmarshal(b, &ex); err != nil || resp.StatusCode != 400 || ex.Error == nil || ex.Error.Code != "no_capable_deployment" {
		t.Errorf("explain anth: got %d %s, want 400 no_capable_deployment", resp.StatusCode, b)
	}
	if live, lb := f.post(oaPath, body("anth")); live.StatusCode != 400 {
		t.Errorf("served anth: got %d %s, want the 400 explained", live.StatusCode, lb)
	}
}
