package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-gw/switchyard/internal/logtest"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// go-redis retries a failed dial from a goroutine that sleeps up to
		// a second after its client is closed (the unreachable-Redis tests).
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

// stack is a running gateway with the simulated provider behind it.
type stack struct {
	t      *testing.T
	sim    *sim.Server
	simURL string
	base   string
	hc     *http.Client
	logs   *logtest.Buffer
	cfg    string
	stop   func()
}

// baseConfig is a gateway config over the simulated provider; {{SIM}} is
// replaced with its base URL. Back-off is short so fault tests run fast.
const baseConfig = `
server:
  listen: 127.0.0.1:0
` + storeConfig + `executor:
  max_attempts: 4
  retries_per_deployment: 1
  backoff_base: 1ms
  backoff_max: 5ms
  max_retry_after: 2s
  deadline: 20s
  breaker:
    failure_threshold: 3
    open_for: 1s
providers:
  - name: sim-openai
    kind: openai
    base_url: {{SIM}}/v1
  - name: sim-anthropic
    kind: anthropic
    base_url: {{SIM}}
deployments:
  - name: small
    provider: sim-openai
    model: sim-small
    price: {input_per_mtok: 0.1, output_per_mtok: 0.4}
    context_window: 4096
    capabilities: {json_mode: true}
  - name: medium
    provider: sim-openai
    model: sim-medium
    price: {input_per_mtok: 1, output_per_mtok: 4}
    context_window: 65536
    capabilities: {json_mode: true, vision: true}
    timeout: 1s
    first_token_timeout: 400ms
    idle_timeout: 400ms
  - name: claude
    provider: sim-anthropic
    model: sim-large
    price: {input_per_mtok: 3, output_per_mtok: 15}
    context_window: 200000
    capabilities: {vision: true}
  - name: embed
    provider: sim-openai
    model: sim-embed
    capabilities: {chat: false, tools: false, streaming: false, embeddings: true}
routes:
  - name: auto
    targets: [medium, claude, small]
  - name: cheap
    targets: [small, medium]
  - name: anthropic-first
    targets: [claude, medium]
`

// storeConfig keeps each test's SQLite store and usage spool in its own
// temporary directory ({{DIR}}).
const storeConfig = `store: sqlite://{{DIR}}/switchyard.db
usage:
  spool_path: {{DIR}}/usage.spool
`

// startStack runs the simulated provider with simCfg and the gateway with
// gwConfig (baseConfig when empty) on loopback ports.
func startStack(t *testing.T, simCfg sim.Config, gwConfig string) *stack {
	t.Helper()
	srv, simURL, stopSim, err := sim.Start(simCfg)
	if err != nil {
		t.Fatalf("start sim: %v", err)
	}
	if gwConfig == "" {
		gwConfig = baseConfig
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "switchyard.yaml")
	text := strings.NewReplacer("{{SIM}}", simURL, "{{DIR}}", dir).Replace(gwConfig)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &logtest.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Options{
			ConfigPath: path,
			Logger:     slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Started:    func(u string) { started <- u },
		})
	}()
	var base string
	select {
	case base = <-started:
	case err := <-done:
		cancel()
		stopSim()
		t.Fatalf("serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not start")
	}
	tr := &http.Transport{}
	s := &stack{t: t, sim: srv, simURL: simURL, base: base, hc: &http.Client{Transport: tr}, logs: logs, cfg: path}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			tr.CloseIdleConnections()
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("serve returned %v", err)
			}
			stopSim()
		})
	}
	t.Cleanup(s.stop)
	return s
}

// post sends a raw JSON body and returns the response with its body read.
func (s *stack) post(path, body string, hdr ...string) (*http.Response, []byte) {
	s.t.Helper()
	return postJSON(s.t, s.hc, s.base+path, body, hdr...)
}

// postJSON posts a raw JSON body with the headers given as name, value
// pairs and returns the response with its body read.
func postJSON(t *testing.T, hc *http.Client, url, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, b
}

// simModels returns sim.DefaultConfig with faults added to the named model.
func simWithFaults(model string, faults ...sim.Fault) sim.Config {
	cfg := sim.DefaultConfig()
	for i := range cfg.Models {
		if cfg.Models[i].Name == model {
			cfg.Models[i].Faults = faults
		}
	}
	return cfg
}
