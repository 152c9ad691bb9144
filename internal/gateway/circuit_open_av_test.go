package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/telemetry"
)

// avUpstream answers chat as good-1 and counts the calls per model; the
// models in failing answer 503.
type avUpstream struct {
	mu      sync.Mutex
	calls   map[string]int
	failing map[string]bool
}

func (u *avUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	model := ""
	for _, m := range []string{"small-1", "medium-1", "large-1"} {
		if strings.Contains(string(b), `"`+m+`"`) {
			model = m
		}
	}
	u.mu.Lock()
	u.calls[model]++
	fail := u.failing[model]
	u.mu.Unlock()
	if fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"message":"down","type":"server_error"}}`))
		return
	}
	k1AnswerChat(w, r)
}

func (u *avUpstream) count(model string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[model]
}

// avServe serves yaml's config with the upstream up behind every
// deployment, the executor's breaker on clock.
func avServe(t *testing.T, up *avUpstream, clock *clocktest.Clock, routes string) (url string, metrics *telemetry.Metrics) {
	t.Helper()
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	cfg, err := config.Parse([]byte(`
executor: {retries_per_deployment: 0, breaker: {failure_threshold: 1, open_for: 60s}}
providers:
  - {name: up, kind: openai, base_url: "`+srv.URL+`/v1"}
deployments:
  - {name: small, provider: up, model: small-1}
  - {name: medium, provider: up, model: medium-1}
  - {name: large, provider: up, model: large-1}
routes:
`+routes), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	metrics = telemetry.NewMetrics(prometheus.NewRegistry())
	exec := executor.New(executor.Options{})
	gw := gateway.New(gateway.Options{Executor: exec, Metrics: metrics})
	if err := gw.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	opts := gateway.ExecutorOptions(cfg)
	opts.Now = clock.Now // Apply set the config's options; now the clock
	exec.SetOptions(opts)
	front := httptest.NewServer(gw.Handler())
	t.Cleanup(front.Close)
	return front.URL, metrics
}

func avPost(t *testing.T, url, model string) (status int, h http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url+"/v1/chat/completions",
		strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// A cascade stage, a classifier and a judge whose deployment's circuit is
// open are not called: the cascade escalates past the stage (the reason
// says why, the metrics count skipped_circuit_open, and
// X-Switchyard-Attempts counts only calls made), the classify route takes
// its default and the judge check fails; after open_for one request
// probes the deployment (found by audit AV, AV1: every request called
// the open deployment, through the executor's "all open: probe the
// first" rule applied to a one-deployment plan).
func TestOpenCircuitSkipsCascadeStageAndSideCalls(t *testing.T) {
	up := &avUpstream{calls: map[string]int{}, failing: map[string]bool{"small-1": true}}
	clock := clocktest.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	url, metrics := avServe(t, up, clock, `
  - {name: casc, policy: cascade, targets: [small, medium], checks: [{min_length: 1}]}
  - name: tri
    policy: classify
    classifier: {deployment: small, labels: {hard: large}, timeout: 5s}
    default: medium
  - name: judged
    policy: cascade
    targets: [medium, large]
    checks: [{judge: {deployment: small, min_score: 5, timeout: 5s}}]
`)
	// The first request's call to small fails and opens its circuit.
	if st, h := avPost(t, url, "casc"); st != 200 || h.Get(gateway.HeaderAttempts) != "2" {
		t.Fatalf("opening: got %d, attempts %q; want 200 after 2 calls", st, h.Get(gateway.HeaderAttempts))
	}
	for i := range 3 {
		st, h := avPost(t, url, "casc")
		if st != 200 || h.Get(gateway.HeaderDeployment) != "medium" || h.Get(gateway.HeaderAttempts) != "1" {
			t.Errorf("cascade %d: got %d from %q after %q calls, want 200 from medium after 1", i, st, h.Get(gateway.HeaderDeployment), h.Get(gateway.HeaderAttempts))
		}
		if r := h.Get(gateway.HeaderReason); !strings.Contains(r, "small: circuit open, skipped") {
			t.Errorf("cascade %d: reason %q does not say small's circuit is open", i, r)
		}
	}
	if n := testutil.ToFloat64(metrics.Attempts.WithLabelValues("casc", "small", "skipped_circuit_open")); n != 3 {
		t.Errorf("attempts_total{route=casc, deployment=small, outcome=skipped_circuit_open} = %v, want 3", n)
	}
	if st, h := avPost(t, url, "tri"); st != 200 || h.Get(gateway.HeaderDeployment) != "medium" {
		t.Errorf("classify: got %d from %q, want 200 from the default, medium", st, h.Get(gateway.HeaderDeployment))
	}
	if st, h := avPost(t, url, "judged"); st != 200 || h.Get(gateway.HeaderDeployment) != "large" || !strings.Contains(h.Get(gateway.HeaderReason), "judge failed") {
		t.Errorf("judge: got %d from %q (%q), want 200 from large after the judge failed", st, h.Get(gateway.HeaderDeployment), h.Get(gateway.HeaderReason))
	}
	if got := up.count("small-1"); got != 1 {
		t.Fatalf("small called %d times while its circuit was open, want 1 (the call that opened it)", got)
	}

	// After open_for, one request probes small (it fails again and
	// re-opens the circuit); the next skips it.
	clock.Advance(60 * time.Second)
	if st, h := avPost(t, url, "casc"); st != 200 || h.Get(gateway.HeaderAttempts) != "2" {
		t.Errorf("probe: got %d after %q calls, want 200 after 2", st, h.Get(gateway.HeaderAttempts))
	}
	if st, h := avPost(t, url, "casc"); st != 200 || h.Get(gateway.HeaderAttempts) != "1" {
		t.Errorf("after the probe: got %d after %q calls, want 200 after 1", st, h.Get(gateway.HeaderAttempts))
	}
	if got := up.count("small-1"); got != 2 {
		t.Errorf("small called %d times, want 2 (the one that opened it, the probe)", got)
	}
}

// When every stage of a cascade is open, the request is not failed with
// nothing tried: the first stage is probed, as the executor probes the
// first target of a whole plan that is all open, and the stages after it
// are still skipped.
func TestCascadeEveryStageOpenProbesFirst(t *testing.T) {
	up := &avUpstream{calls: map[string]int{}, failing: map[string]bool{"small-1": true, "medium-1": true}}
	clock := clocktest.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	url, _ := avServe(t, up, clock, `
  - {name: casc, policy: cascade, targets: [small, medium], checks: [{min_length: 1}]}
`)
	if st, _ := avPost(t, url, "casc"); st != 503 {
		t.Fatalf("opening: got %d, want 503", st)
	}
	up.mu.Lock()
	up.failing["small-1"] = false
	up.mu.Unlock()
	st, h := avPost(t, url, "casc")
	if st != 200 || h.Get(gateway.HeaderDeployment) != "small" || h.Get(gateway.HeaderAttempts) != "1" {
		t.Errorf("all open: got %d from %q after %q calls, want 200 from small after 1", st, h.Get(gateway.HeaderDeployment), h.Get(gateway.HeaderAttempts))
	}
	if r := h.Get(gateway.HeaderReason); !strings.Contains(r, "probing small") {
		t.Errorf("all open: reason %q does not say small was probed", r)
	}
	if s, m := up.count("small-1"), up.count("medium-1"); s != 2 || m != 1 {
		t.Errorf("calls: small %d, medium %d; want 2 and 1", s, m)
	}
}
