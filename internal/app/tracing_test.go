package app

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
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
