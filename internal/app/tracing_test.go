package app

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

// TestTracesExportedOverOTLP: with telemetry.otlp_endpoint set, each
// request becomes a span exported to the collector over OTLP/HTTP, carrying
// the route and deployment and never the prompt or the provider key.
func TestTracesExportedOverOTLP(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/traces" {
			mu.Lock()
			bodies = append(bodies, b)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()

	const promptCanary = "prompt-canary-5e1f"
	const keyCanary = "sk-trace-canary-88aa"
	cfg := strings.Replace(baseConfig, "routes:", "telemetry:\n  otlp_endpoint: "+collector.URL+"/v1/traces\nroutes:", 1)
	cfg = strings.Replace(cfg, "base_url: {{SIM}}/v1\n", "base_url: {{SIM}}/v1\n    api_key: "+keyCanary+"\n", 1)
	s := startStack(t, fastSim(), cfg)
	resp, body := s.post("/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":"`+promptCanary+`"}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	s.stop() // shutdown flushes the batch of spans

	mu.Lock()
	defer mu.Unlock()
	all := bytes.Join(bodies, nil)
	if len(bodies) == 0 {
		t.Fatal("collector received no trace export")
	}
	for _, want := range []string{"switchyard.chat", "switchyard.route", "auto", "switchyard.deployment", "medium", "switchyard"} {
		if !bytes.Contains(all, []byte(want)) {
			t.Errorf("exported spans lack %q", want)
		}
	}
	for _, leak := range []string{promptCanary, keyCanary} {
		if bytes.Contains(all, []byte(leak)) {
			t.Errorf("exported spans contain the secret or prompt %q", leak)
		}
	}
}

// TestTracingTurnedOnByReload: adding telemetry to the config file of a
// running gateway starts exporting spans without a restart.
func TestTracingTurnedOnByReload(t *testing.T) {
	var mu sync.Mutex
	var bodies []byte
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b...)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()

	s := startStack(t, fastSim(), "")
	text, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	on := strings.Replace(string(text), "routes:", "telemetry:\n  otlp_endpoint: "+collector.URL+"/v1/traces\n  service_name: reloaded-svc\nroutes:", 1)
	if err := os.WriteFile(s.cfg, []byte(on), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the tracing reconfiguration", func() bool { return strings.Contains(s.logs.String(), "tracing reconfigured") })
	if resp, body := s.post("/v1/chat/completions", chatBody); resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	s.stop() // shutdown flushes the batch of spans

	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"switchyard.chat", "reloaded-svc"} {
		if !bytes.Contains(bodies, []byte(want)) {
			t.Errorf("exported spans lack %q", want)
		}
	}
}
