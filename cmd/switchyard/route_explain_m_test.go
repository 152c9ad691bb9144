package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRouteExplainAsServed: `switchyard route explain` leaves out, as
// serving and POST /v1/route/explain do, the deployments require_params
// skips (the route's, or the X-Switchyard-Require-Params header) and, for
// a Messages request only an Anthropic deployment serves (a document
// block), the others; and exits 1 when that leaves nothing. It took the
// router's plan alone.
func TestRouteExplainAsServed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.yaml")
	if err := os.WriteFile(path, []byte(`
providers:
  - {name: sim, kind: openai, base_url: "http://127.0.0.1:9/v1"}
  - {name: sima, kind: anthropic, base_url: "http://127.0.0.1:9"}
deployments:
  - {name: medium, provider: sim, model: sim-medium, context_window: 65536}
  - {name: large, provider: sima, model: sim-large, context_window: 200000}
routes:
  - {name: reproducible, targets: [large, medium], require_params: true}
  - {name: loose, targets: [large, medium]}
  - {name: careful, policy: cascade, targets: [medium, large], checks: [{min_length: 1}], require_params: true}
  - {name: oa-only, targets: [medium]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	seed := func(model string) string {
		return `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}],"seed":1}`
	}
	doc := func(model string) string {
		return `{"model":"` + model + `","max_tokens":50,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}},{"type":"text","text":"sum"}]}]}`
	}
	tests := []struct {
		name, stdin      string
		args             []string
		code             int
		deployments      []string
		skipped, errCode string
	}{
		{name: "route require_params", stdin: seed("reproducible"), code: 0, deployments: []string{"medium"}, skipped: "large: require_params"},
		{name: "header require_params", stdin: seed("loose"), args: []string{"--header", "X-Switchyard-Require-Params: true"}, code: 0, deployments: []string{"medium"}, skipped: "large: require_params"},
		{name: "header turns it off", stdin: seed("reproducible"), args: []string{"--header", "X-Switchyard-Require-Params: false"}, code: 0, deployments: []string{"large", "medium"}},
		{name: "bad header", stdin: seed("loose"), args: []string{"--header", "X-Switchyard-Require-Params: yes"}, code: 1, errCode: "invalid_request_error"},
		{name: "cascade require_params", stdin: seed("careful"), code: 1, errCode: "unsupported_parameter"},
		{name: "document to OpenAI only", stdin: doc("oa-only"), args: []string{"--dialect", "anthropic"}, code: 1, deployments: []string{}, skipped: `medium: does not serve content blocks of type "document"`, errCode: "no_capable_deployment"},
		{name: "document keeps Anthropic", stdin: doc("loose"), args: []string{"--dialect", "anthropic"}, code: 0, deployments: []string{"large"}, skipped: "medium: does not serve"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := cmdRouteExplain(append([]string{"--config", path}, tc.args...), strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("got exit %d (stderr %q, stdout %s), want %d", code, stderr.String(), stdout.String(), tc.code)
			}
			var ex struct {
				Deployments []string `json:"deployments"`
				Skipped     []string `json:"skipped"`
				Error       *struct{ Code string }
			}
			if err := json.Unmarshal(stdout.Bytes(), &ex); err != nil {
				t.Fatalf("output %q: %v", stdout.String(), err)
			}
			if tc.deployments != nil && strings.Join(ex.Deployments, ",") != strings.Join(tc.deployments, ",") {
				t.Errorf("got deployments %v, want %v", ex.Deployments, tc.deployments)
			}
			if tc.skipped != "" && !strings.Contains(strings.Join(ex.Skipped, "; "), tc.skipped) {
				t.Errorf("got skipped %q, want %q among them", ex.Skipped, tc.skipped)
			}
			if got := ""; ex.Error != nil || tc.errCode != "" {
				if ex.Error != nil {
					got = ex.Error.Code
				}
				if got != tc.errCode {
					t.Errorf("got error code %q, want %q", got, tc.errCode)
				}
			}
		})
	}
}
