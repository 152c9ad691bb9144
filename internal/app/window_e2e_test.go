package app

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// TestLivePlanSkipsTooSmallWindow: through the real server, a weighted
// arm whose deployment cannot hold the request is not the arm a live
// answer is credited to; the answer names the arm that served it and the
// skip, as POST /v1/route/explain does. A request no deployment of its
// route can hold is still a 400 context_length_exceeded.
func TestLivePlanSkipsTooSmallWindow(t *testing.T) {
	s, _ := startRouted(t, routeSim(nil), nil, `
  - name: ab-ctx
    policy: weighted
    sticky: header:x-ab
    arms: [{name: smallarm, target: small, weight: 50}, {name: mediumarm, target: medium, weight: 50}]
  - {name: only-small, targets: [small]}
`)
	// A caller the hash puts on the small arm (small's window is 8192).
	ab := ""
	for i := 0; ab == "" && i < 64; i++ {
		v := strconv.Itoa(i)
		resp, b := s.post("/v1/route/explain", routeBody("ab-ctx", "hi", ""), "X-Ab", v)
		var ex struct{ Arm string }
		if err := json.Unmarshal(b, &ex); err != nil || resp.StatusCode != 200 {
			t.Fatalf("explain: got %d %s", resp.StatusCode, b)
		}
		if ex.Arm == "smallarm" {
			ab = v
		}
	}
	if ab == "" {
		t.Fatal("no x-ab value in 0..63 picks smallarm")
	}
	long := routeBody("ab-ctx", "hello", `"max_tokens":9000,`)
	before := s.callCount("sim-small")
	h := s.served(long, "X-Ab", ab)
	if got, arm := h.Get("X-Switchyard-Deployment"), h.Get("X-Switchyard-Arm"); got != "medium" || arm != "mediumarm" {
		t.Errorf("live: got deployment %q arm %q, want medium and mediumarm (reason %q)", got, arm, h.Get("X-Switchyard-Reason"))
	}
	if r := h.Get("X-Switchyard-Reason"); !strings.Contains(r, "arm smallarm cannot serve this request; arm mediumarm") || !strings.Contains(r, "skipped small: context window") {
		t.Errorf("live reason: got %q, want the arm switch and the skip named", r)
	}
	if got := s.callCount("sim-small") - before; got != 0 {
		t.Errorf("sim-small calls: got %d, want 0", got)
	}
	resp, b := s.post("/v1/route/explain", long, "X-Ab", ab)
	var ex struct {
		Arm         string
		Deployments []string
	}
	if err := json.Unmarshal(b, &ex); err != nil || resp.StatusCode != 200 || ex.Arm != "mediumarm" || strings.Join(ex.Deployments, ",") != "medium" {
		t.Errorf("explain: got %d %s, want arm mediumarm on medium, as served", resp.StatusCode, b)
	}

	resp, b = s.post("/v1/chat/completions", routeBody("only-small", "hello", `"max_tokens":9000,`))
	if code, _ := openAIErrorCode(string(b)); resp.StatusCode != 400 || code != "context_length_exceeded" {
		t.Errorf("too long for every deployment: got %d %s, want 400 context_length_exceeded", resp.StatusCode, b)
	}
}
