package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// k1Answer is an OpenAI-compatible upstream answering every chat
// completion at once (k1AnswerChat).
func k1Answer() *httptest.Server { return httptest.NewServer(http.HandlerFunc(k1AnswerChat)) }

func k1AnswerChat(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":"c1","object":"chat.completion","model":"good-1","choices":[{"index":0,"message":{"role":"assistant","content":"Hi."},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`))
}

// A target skipped before any call (its circuit open) is an event on the
// request's span, not an attempt: the one call that follows is attempt 1,
// as the request's switchyard.attempts and X-Switchyard-Attempts say.
func TestK1SkippedTargetIsNoAttemptNumber(t *testing.T) {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"message":"down","type":"server_error"}}`, http.StatusInternalServerError)
	}))
	defer bad.Close()
	good := k1Answer()
	defer good.Close()
	k := k1Serve(t, `
executor:
  retries_per_deployment: 0
  breaker: {failure_threshold: 1, open_for: 60s}
providers:
  - {name: bad, kind: openai, base_url: "`+bad.URL+`/v1"}
  - {name: good, kind: openai, base_url: "`+good.URL+`/v1"}
deployments:
  - {name: d-bad, provider: bad, model: bad-1}
  - {name: d-good, provider: good, model: good-1}
routes:
  - {name: auto, targets: [d-bad, d-good]}
`, nil)
	const body = `{"model":"auto","messages":[{"role":"user","content":"hi"}]}`
	if resp, b := k.post("/v1/chat/completions", body); resp.StatusCode != 200 {
		t.Fatalf("1st request: %d %s", resp.StatusCode, b)
	}
	resp, b := k.post("/v1/chat/completions", body)
	if resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Attempts") != "1" {
		t.Fatalf("2nd request: %d, X-Switchyard-Attempts %q (%s); want 200 after d-bad is skipped, 1 attempt", resp.StatusCode, resp.Header.Get("X-Switchyard-Attempts"), b)
	}
	req := k.request(resp.Header.Get("X-Request-Id"))
	skipped := 0
	for _, e := range req.server.Events {
		if e.Name == "target skipped" {
			skipped++
		}
	}
	if skipped != 1 || k1Attr(req.server, "switchyard.attempts") != "1" {
		t.Fatalf("request span: %d skip events, switchyard.attempts %s; want 1 and 1", skipped, k1Attr(req.server, "switchyard.attempts"))
	}
	if len(req.calls) != 1 {
		t.Fatalf("got %d call spans, want 1", len(req.calls))
	}
	if got := k1Attr(req.calls[0], "switchyard.attempt"); got != "1" || k1Attr(req.calls[0], "switchyard.deployment") != "d-good" {
		t.Errorf("call span: switchyard.attempt %s at %s, want 1 at d-good", got, k1Attr(req.calls[0], "switchyard.deployment"))
	}
}
