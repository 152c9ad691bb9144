package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// A weighted request whose arm's deployment require_params skips counts
// for the arm that serves it, and the reason says so, as for an arm that
// lacks a capability (found by audit AV, AV3: it kept the skipped arm's
// label while the other arm's deployment answered).
func TestRequireParamsMovesWeightedArm(t *testing.T) {
	k := avRequireRig(t, `
  - name: ab
    policy: weighted
    sticky: header:X-Cohort
    require_params: true
    arms: [{name: treat, target: claude, weight: 1}, {name: control, target: gpt, weight: 0.000001}]
`)
	send := func(path, extra string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, k.url+path, strings.NewReader(`{"model":"ab"`+extra+`,"messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("X-Cohort", "u1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	// Without a seed, treat (all but all the weight) serves.
	if resp, b := send("/v1/chat/completions", ""); resp.Header.Get("X-Switchyard-Arm") != "treat" || resp.Header.Get("X-Switchyard-Deployment") != "claude" {
		t.Fatalf("no seed: arm %q by %q (%s), want treat by claude", resp.Header.Get("X-Switchyard-Arm"), resp.Header.Get("X-Switchyard-Deployment"), b)
	}
	const why = "ab: arm treat cannot serve this request; arm control"
	resp, b := send("/v1/chat/completions", `,"seed":5`)
	if resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Arm") != "control" || resp.Header.Get("X-Switchyard-Deployment") != "gpt" {
		t.Errorf("seed: %d, arm %q by %q (%s), want 200, control by gpt", resp.StatusCode, resp.Header.Get("X-Switchyard-Arm"), resp.Header.Get("X-Switchyard-Deployment"), b)
	}
	if r := resp.Header.Get("X-Switchyard-Reason"); !strings.Contains(r, why) {
		t.Errorf("seed: reason %q, want it to contain %q", r, why)
	}
	_, b = send("/v1/route/explain", `,"seed":5`)
	if arm := gjson.Get(b, "arm").Str; arm != "control" || !strings.Contains(gjson.Get(b, "reason").Str, why) {
		t.Errorf("explain: %s, want arm control and the reason saying why", b)
	}
}
