package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A side call's upstream calls (here a classify route's classifier, which
// fails once and is retried) are counted in
// switchyard_upstream_attempts_total under route = the deployment called,
// as a request naming it would be, and each is a client span of its own
// (found by audit AH: they were counted nowhere, and one span held all
// the tries, so a deployment failing every side call showed only as
// slower requests).
func TestSideCallAttemptsCounted(t *testing.T) {
	var classifierCalls atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), `"judge-1"`) && classifierCalls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":{"message":"boom","type":"server_error"}}`))
			return
		}
		k1AnswerChat(w, r)
	}))
	defer up.Close()
	k := k1Serve(t, `
executor: {retries_per_deployment: 1, backoff_base: 1ms, backoff_max: 2ms}
providers:
  - {name: up, kind: openai, base_url: "`+up.URL+`/v1"}
deployments:
  - {name: judge, provider: up, model: judge-1}
  - {name: answer, provider: up, model: good-1}
routes:
  - name: sorted
    policy: classify
    classifier: {deployment: judge, labels: {easy: answer}, timeout: 5s}
    default: answer
`, nil)
	if resp, b := k.post("/v1/chat/completions", `{"model":"sorted","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 {
		t.Fatalf("got %d %s, want 200", resp.StatusCode, b)
	}
	if got := classifierCalls.Load(); got != 2 {
		t.Fatalf("classifier called %d times, want 2 (one failure, one retry)", got)
	}
	if n := k.attempts("judge", "judge", "unavailable"); n != 1 {
		t.Errorf("attempts_total{route=judge, outcome=unavailable} = %v, want 1", n)
	}
	if n := k.attempts("judge", "judge", "ok"); n != 1 {
		t.Errorf("attempts_total{route=judge, outcome=ok} = %v, want 1", n)
	}
	// Each call is a client span of its own, the failed one failed.
	var calls []string
	for _, s := range k.exp.GetSpans() {
		if k1Attr(s, "switchyard.side_call") == "true" {
			calls = append(calls, k1Attr(s, "switchyard.attempt")+":"+k1Attr(s, "error.type")+":"+k1Attr(s, "gen_ai.usage.input_tokens"))
		}
	}
	if len(calls) != 2 || calls[0] != "1:unavailable:" || !strings.HasPrefix(calls[1], "2::") || calls[1] == "2::" {
		t.Errorf("side call spans (attempt:error:input tokens) %q, want a failed first and an answering second with its usage", calls)
	}
}
