package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"
)

// TestBedrockLatency: a Bedrock deployment's latency setting reaches
// Converse as performanceConfig; a deployment without one sends none.
func TestBedrockLatency(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"output":{"message":{"role":"assistant","content":[{"text":"hi"}]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}`)
	}))
	defer up.Close()
	f := newFixture(t)
	cfg := f.conf(`
providers:
  - {name: br, kind: bedrock, region: us-east-1, base_url: "` + up.URL + `", api_key: k}
deployments:
  - {name: fast, provider: br, model: m, latency: optimized}
  - {name: plain, provider: br, model: m}
`)
	if err := f.gw.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{"fast", "plain"} {
		resp, b := f.do("POST", "/v1/chat/completions", strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", model, resp.StatusCode, b)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || gjson.Get(bodies[0], "performanceConfig.latency").Str != "optimized" || gjson.Get(bodies[1], "performanceConfig").Exists() {
		t.Errorf("Converse bodies: %q", bodies)
	}
}
