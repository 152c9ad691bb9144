package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

// TestCacheSkipsAnthropicThread: a Messages request naming a thread is
// neither served from nor stored in the response cache: the thread is a
// conversation Anthropic keeps, which each turn creates or adds to, so the
// same body is another request every time (found by audit AD: the tool
// runner's first turn was a cache hit, and the thread it was to create
// was never made upstream).
func TestCacheSkipsAnthropicThread(t *testing.T) {
	cfg := sim.DefaultConfig()
	for i := range cfg.Models {
		cfg.Models[i].Latency, cfg.Models[i].FirstToken, cfg.Models[i].TokensPerSecond = 0, 0, 0
	}
	_, simURL, stop, err := sim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	g, srv := serveConfig(t, fmt.Sprintf(`
providers:
  - {name: an, kind: anthropic, base_url: "%s"}
deployments:
  - {name: claude, provider: an, model: sim-large}
cache: {backend: memory, ttl: 10m}
`, simURL), Options{Cache: cache.NewMemory(1<<20, nil)})
	defer srv.Close()
	defer g.Close()
	send := func(body string) string {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/messages", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("anthropic-version", "2023-06-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("got %d, want 200", resp.StatusCode)
		}
		g.stores.Wait()
		return resp.Header.Get(HeaderCache)
	}
	const plain = `{"model":"claude","max_tokens":20,"messages":[{"role":"user","content":"hello"}]}`
	if got := []string{send(plain), send(plain)}; got[1] != cacheResultHit {
		t.Fatalf("without a thread: cache %q, want a hit the second time", got)
	}
	const thread = `{"model":"claude","max_tokens":20,"thread":{"type":"create"},"messages":[{"role":"user","content":"hello"}]}`
	for i := range 2 {
		if got := send(thread); got != "" {
			t.Errorf("with a thread, call %d: cache %q, want none", i+1, got)
		}
	}
}
