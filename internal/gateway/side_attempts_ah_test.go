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
// as a request naming it would be (found by audit AH: they were counted
// nowhere, so a deployment failing every side call showed only as slower
// requests).
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
}
