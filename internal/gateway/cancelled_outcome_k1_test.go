package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/gateway"
)

// k1Holding is an OpenAI-compatible upstream that holds a chat request
// whose body says "hold" until the caller goes away (telling got when it
// has it), and answers the others at once.
func k1Holding(got chan<- struct{}) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), "hold") {
			got <- struct{}{}
			<-r.Context().Done()
			return
		}
		k1AnswerChat(w, r)
	}))
}

// An upstream call abandoned because the client went away is counted in
// switchyard_upstream_attempts_total as client_cancelled, the request's
// own error, not as an "unknown" upstream failure, and its span says so;
// one cut by a shutdown is counted as shutdown. Neither counts against
// the deployment: its circuit (one failure opens it) stays closed.
func TestK1CancelledAttemptOutcome(t *testing.T) {
	got := make(chan struct{}, 1)
	up := k1Holding(got)
	defer up.Close()
	var mu sync.Mutex
	var shutdown context.CancelCauseFunc
	k := k1Serve(t, `
executor:
  retries_per_deployment: 0
  breaker: {failure_threshold: 1, open_for: 60s}
providers:
  - {name: up, kind: openai, base_url: "`+up.URL+`/v1"}
deployments:
  - {name: d-slow, provider: up, model: slow-1}
`, func(h http.Handler) http.Handler {
		// As the server ends the requests still running at its
		// shutdown deadline: their context cancelled with
		// ErrShuttingDown as the cause.
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithCancelCause(r.Context())
			defer cancel(nil)
			mu.Lock()
			shutdown = cancel
			mu.Unlock()
			h.ServeHTTP(w, r.WithContext(ctx))
		})
	})
	const hold = `{"model":"d-slow","messages":[{"role":"user","content":"hold"}]}`

	// The client goes away while the upstream holds its call.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", k.url+"/v1/chat/completions", strings.NewReader(hold))
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-got
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the cancelled request got an answer")
	}
	clocktest.WaitFor(t, "the abandoned attempt counted", func() bool {
		return k.attempts("d-slow", "d-slow", "client_cancelled") == 1
	})
	if n := k.attempts("d-slow", "d-slow", "unknown"); n != 0 {
		t.Errorf("attempts_total{outcome=unknown} = %v, want 0", n)
	}
	r := k.request("")
	if len(r.calls) != 1 || k1Attr(r.calls[0], "error.type") != "client_cancelled" {
		t.Errorf("call spans %d, error.type %q; want 1, client_cancelled", len(r.calls), k1Attr(r.calls[0], "error.type"))
	}

	// A shutdown cuts the held call.
	go func() {
		<-got
		mu.Lock()
		shutdown(gateway.ErrShuttingDown)
		mu.Unlock()
	}()
	if resp, b := k.post("/v1/chat/completions", hold); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("cut by a shutdown: %d %s, want 503", resp.StatusCode, b)
	}
	clocktest.WaitFor(t, "the attempt cut by the shutdown counted", func() bool {
		return k.attempts("d-slow", "d-slow", "shutdown") == 1
	})
	if n := k.attempts("d-slow", "d-slow", "unknown"); n != 0 {
		t.Errorf("attempts_total{outcome=unknown} = %v, want 0", n)
	}

	// Neither opened the circuit.
	resp, b := k.post("/v1/chat/completions", `{"model":"d-slow","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Attempts") != "1" {
		t.Fatalf("next request: %d, %s attempts (%s); want 200 from d-slow, its circuit closed", resp.StatusCode, resp.Header.Get("X-Switchyard-Attempts"), b)
	}
	if n := k.attempts("d-slow", "d-slow", "skipped_circuit_open"); n != 0 {
		t.Errorf("d-slow skipped %v times for an open circuit, want 0", n)
	}
}
