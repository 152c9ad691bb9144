package gateway_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
)

// A stream the client abandons after its first token is counted in
// switchyard_upstream_attempts_total as client_cancelled, as a call
// abandoned before it, not as ok (found by audit Z: its usage record said
// client_cancelled, the metric ok).
func TestCancelledStreamAttemptOutcome(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"slow-1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Once\"},\"finish_reason\":null}]}\n\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer up.Close()
	k := k1Serve(t, `
executor: {retries_per_deployment: 0}
providers:
  - {name: up, kind: openai, base_url: "`+up.URL+`/v1"}
deployments:
  - {name: d-slow, provider: up, model: slow-1}
`, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", k.url+"/v1/chat/completions",
		strings.NewReader(`{"model":"d-slow","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	// The first token arrives: the stream is committed. Then the client
	// goes away.
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.Contains(line, "Once") {
		t.Fatalf("first line: got %q, %v; want the first token", line, err)
	}
	cancel()
	resp.Body.Close()
	clocktest.WaitFor(t, "the abandoned stream's attempt counted", func() bool {
		return k.attempts("d-slow", "d-slow", "client_cancelled") == 1
	})
	if n := k.attempts("d-slow", "d-slow", "ok"); n != 0 {
		t.Errorf("attempts_total{outcome=ok} = %v, want 0", n)
	}
}
