package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// explainConfig is a config over an unreachable simulator: route explain
// never calls a model, so nothing needs to listen there.
const explainConfig = `
providers:
  - {name: sim, kind: openai, base_url: "http://127.0.0.1:9/v1"}
deployments:
  - {name: small, provider: sim, model: sim-small, price: {input_per_mtok: 0.15, output_per_mtok: 0.6}, context_window: 16384, capabilities: {json_mode: true}}
  - {name: large, provider: sim, model: sim-large, price: {input_per_mtok: 5, output_per_mtok: 15}, context_window: 200000, capabilities: {vision: true}}
routes:
  - name: chat
    policy: rules
    rules:
      - {name: coding, when: 'task == "coding"', target: large}
      - {name: pro, when: 'tier == "pro"', target: large}
    default: small
  - name: careful
    policy: cascade
    targets: [small, large]
    checks: [{min_length: 20}]
`

func TestRouteExplainCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.yaml")
	if err := os.WriteFile(path, []byte(explainConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	const hi = `{"model":%q,"messages":[{"role":"user","content":"hi"}]}`
	body := func(model string) string { return strings.Replace(hi, "%q", `"`+model+`"`, 1) }
	tests := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		deploy   string // first planned deployment
		reason   string
		errCode  string
		cascaded bool
	}{
		{name: "default", args: nil, stdin: body("chat"), code: 0, deploy: "small", reason: "no rule matched -> default small"},
		{name: "task header", args: []string{"--header", "X-Switchyard-Task: coding"}, stdin: body("chat"), code: 0, deploy: "large", reason: "coding matched"},
		{name: "tier", args: []string{"--tier", "pro"}, stdin: body("chat"), code: 0, deploy: "large", reason: "pro matched"},
		{name: "cascade", stdin: body("careful"), code: 0, deploy: "small", cascaded: true},
		{name: "anthropic dialect", args: []string{"--dialect", "anthropic"}, stdin: `{"model":"chat","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, code: 0, deploy: "small"},
		{name: "unknown model", stdin: body("nope"), code: 1, errCode: "model_not_found"},
		{name: "bad body", stdin: `{`, code: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"--config", path}, tc.args...)
			code := cmdRouteExplain(args, strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit: got %d, want %d (stderr %s)", code, tc.code, stderr.String())
			}
			if tc.code == 2 {
				return
			}
			var ex struct {
				Deployments []string
				Reason      string
				Cascade     *struct{ Stages []string }
				Error       *struct{ Code string }
			}
			if err := json.Unmarshal(stdout.Bytes(), &ex); err != nil {
				t.Fatalf("output: %v in %s", err, stdout.String())
			}
			if tc.deploy != "" && (len(ex.Deployments) == 0 || ex.Deployments[0] != tc.deploy) {
				t.Errorf("deployments: got %v, want %s first", ex.Deployments, tc.deploy)
			}
			if !strings.Contains(ex.Reason, tc.reason) {
				t.Errorf("reason: got %q, want it to contain %q", ex.Reason, tc.reason)
			}
			if tc.errCode != "" && (ex.Error == nil || ex.Error.Code != tc.errCode) {
				t.Errorf("error: got %+v, want %s", ex.Error, tc.errCode)
			}
			if tc.cascaded && (ex.Cascade == nil || strings.Join(ex.Cascade.Stages, ",") != "small,large") {
				t.Errorf("cascade: got %+v, want stages small,large", ex.Cascade)
			}
		})
	}
}
