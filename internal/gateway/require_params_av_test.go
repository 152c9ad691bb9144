package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// avRequireRig serves claude (an Anthropic deployment, which gets no
// seed) and gpt (an OpenAI one) from one fake upstream.
func avRequireRig(t *testing.T, routes string) *k1Rig {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/messages") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"m1","type":"message","role":"assistant","model":"claude-1","content":[{"type":"text","text":"Hi."}],"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":2}}`))
			return
		}
		k1AnswerChat(w, r)
	}))
	t.Cleanup(up.Close)
	return k1Serve(t, `
providers:
  - {name: ant, kind: anthropic, base_url: "`+up.URL+`"}
  - {name: oai, kind: openai, base_url: "`+up.URL+`/v1"}
deployments:
  - {name: claude, provider: ant, model: claude-1}
  - {name: gpt, provider: oai, model: good-1}
routes:
`+routes, nil)
}

// When require_params leaves no deployment, the 400's reason (header,
// usage record) still names the deployment skipped and why, as it does
// when another is left (found by audit AV, AV2).
func TestRequireParamsEmptyPlanReasonNamesSkip(t *testing.T) {
	k := avRequireRig(t, `
  - {name: only, policy: fallback, targets: [claude], require_params: true}
`)
	resp, b := k.post("/v1/chat/completions", `{"model":"only","seed":5,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 400 || gjson.Get(b, "error.code").Str != "unsupported_parameter" {
		t.Fatalf("got %d %s, want 400 unsupported_parameter", resp.StatusCode, b)
	}
	const want = "require_params: skipped claude (seed)"
	if r := resp.Header.Get("X-Switchyard-Reason"); !strings.Contains(r, want) {
		t.Errorf("reason header %q, want it to contain %q", r, want)
	}
	var recs []string
	for _, rec := range k.records() {
		recs = append(recs, rec.Reason)
	}
	if len(recs) != 1 || !strings.Contains(recs[0], want) {
		t.Errorf("record reasons %q, want one containing %q", recs, want)
	}
}
