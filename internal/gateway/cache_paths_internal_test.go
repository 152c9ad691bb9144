package gateway

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/config"
)

// countingUpstream answers OpenAI chat calls at once, counting them per
// model; a model in fail answers 500.
func countingUpstream(t *testing.T, fail ...string) (*httptest.Server, func(model string) int) {
	var mu sync.Mutex
	calls := map[string]*atomic.Int32{}
	counter := func(m string) *atomic.Int32 {
		mu.Lock()
		defer mu.Unlock()
		if calls[m] == nil {
			calls[m] = new(atomic.Int32)
		}
		return calls[m]
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		model := "?"
		for _, m := range []string{"m-small", "m-big"} {
			if strings.Contains(string(b), `"model":"`+m+`"`) {
				model = m
			}
		}
		n := counter(model).Add(1)
		w.Header().Set("Content-Type", "application/json")
		for _, f := range fail {
			if f == model {
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, `{"error":{"message":"down","type":"server_error","param":null,"code":null}}`)
				return
			}
		}
		fmt.Fprintf(w, `{"id":"chatcmpl-%s-%d","object":"chat.completion","created":1,"model":"%s","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`, model, n, model)
	}))
	t.Cleanup(up.Close)
	return up, func(m string) int { return int(counter(m).Load()) }
}

func post(t *testing.T, url, body string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

const cachePathsHead = `
providers:
  - {name: up, kind: openai, base_url: "%s/v1"}
deployments:
  - {name: small, provider: up, model: m-small}
  - {name: big, provider: up, model: m-big}
executor: {retries_per_deployment: 0}
cache: {backend: memory, ttl: %s}
`

// TestCacheOptOutOnTheWay: a route with cache: false keeps its answers out
// of the cache when another route leads to it (a fallback target, a rules
// default), not only when the client names it.
func TestCacheOptOutOnTheWay(t *testing.T) {
	up, calls := countingUpstream(t)
	g, srv := serveConfig(t, fmt.Sprintf(cachePathsHead, up.URL, "10m")+`
routes:
  - {name: fresh, targets: [small], cache: false}
  - {name: top, targets: [fresh, big]}
  - {name: ruled, policy: rules, rules: [{when: 'tools', target: big}], default: fresh}
`, Options{Cache: cache.NewMemory(1<<20, nil)})
	defer srv.Close()
	defer g.Close()
	for _, route := range []string{"fresh", "top", "ruled"} {
		body := `{"model":"` + route + `","messages":[{"role":"user","content":"what time is it"}]}`
		for i := range 2 {
			code, _, h := post(t, srv.URL, body)
			if code != 200 || h.Get(HeaderCache) != "" {
				t.Errorf("%s, request %d: %d cache=%q, want 200 with no cache header", route, i+1, code, h.Get(HeaderCache))
			}
			g.stores.Wait()
		}
	}
	if n := calls("m-small"); n != 6 {
		t.Errorf("%d upstream calls, want 6 (none answered from the cache)", n)
	}
}

// TestCacheTTLLoweredByReload: an answer stored under a long ttl is not
// served once a reload has lowered the ttl below its age.
func TestCacheTTLLoweredByReload(t *testing.T) {
	up, calls := countingUpstream(t)
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	routes := "routes:\n  - {name: chat, targets: [small]}\n"
	g, srv := serveConfig(t, fmt.Sprintf(cachePathsHead, up.URL, "10m")+routes, Options{Cache: cache.NewMemory(1<<20, now), Now: now})
	defer srv.Close()
	defer g.Close()
	body := `{"model":"chat","messages":[{"role":"user","content":"hello"}]}`
	post(t, srv.URL, body)
	g.stores.Wait()
	offset.Store(int64(3 * time.Second))
	if _, _, h := post(t, srv.URL, body); h.Get(HeaderCache) != "hit" {
		t.Fatalf("under the 10m ttl: cache=%q, want hit", h.Get(HeaderCache))
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(cachePathsHead, up.URL, "1s")+routes), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if _, _, h := post(t, srv.URL, body); h.Get(HeaderCache) != "miss" {
		t.Errorf("3s old answer after the ttl was lowered to 1s: cache=%q, want miss", h.Get(HeaderCache))
	}
	if n := calls("m-small"); n != 2 {
		t.Errorf("%d upstream calls, want 2", n)
	}
}

// TestCascadeFallbackAnswerNotCached: an earlier stage's answer that failed
// its check, served because the later stage failed, is not stored: once
// the later stage is back, the same request reaches it.
func TestCascadeFallbackAnswerNotCached(t *testing.T) {
	up, calls := countingUpstream(t, "m-big")
	g, srv := serveConfig(t, fmt.Sprintf(cachePathsHead, up.URL, "10m")+`
routes:
  - {name: auto, policy: cascade, targets: [small, big], checks: [{min_length: 100}]}
`, Options{Cache: cache.NewMemory(1<<20, nil)})
	defer srv.Close()
	defer g.Close()
	body := `{"model":"auto","messages":[{"role":"user","content":"explain"}]}`
	for i := range 2 {
		code, out, h := post(t, srv.URL, body)
		if code != 200 || h.Get(HeaderCache) != "miss" {
			t.Errorf("request %d: %d cache=%q %s, want a 200 miss", i+1, code, h.Get(HeaderCache), out)
		}
		g.stores.Wait()
	}
	if n := calls("m-small"); n != 2 {
		t.Errorf("%d calls to the first stage, want 2 (its failed-check answer was served from the cache)", n)
	}
}

// TestCachedFollowUpOfDeletedResponse: a cached Responses follow-up is not
// served once the response it continues is deleted (as a new follow-up of
// it is refused), not only once its own response is.
func TestCachedFollowUpOfDeletedResponse(t *testing.T) {
	var n atomic.Int32
	deleted := map[string]bool{}
	var mu sync.Mutex
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodDelete {
			id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
			deleted[id] = true
			fmt.Fprintf(w, `{"id":%q,"object":"response","deleted":true}`, id)
			return
		}
		if prev := strings.Contains(string(b), `"previous_response_id":"resp_1"`); prev && deleted["resp_1"] {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":{"message":"Previous response with id 'resp_1' not found.","type":"invalid_request_error","param":"previous_response_id","code":"previous_response_not_found"}}`)
			return
		}
		id := fmt.Sprintf("resp_%d", n.Add(1))
		fmt.Fprintf(w, `{"id":%q,"object":"response","status":"completed","model":"m","output":[{"type":"message","id":"msg_%s","role":"assistant","status":"completed","content":[{"type":"output_text","text":"ok","annotations":[]}]}],"usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4}}`, id, id)
	}))
	defer up.Close()
	g, srv := serveConfig(t, fmt.Sprintf(cachePathsHead, up.URL, "10m")+"routes:\n  - {name: chat, targets: [small]}\n", Options{Cache: cache.NewMemory(1<<20, nil)})
	defer srv.Close()
	defer g.Close()
	send := func(body string) (int, http.Header) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/v1/responses", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		g.stores.Wait()
		return resp.StatusCode, resp.Header
	}
	if code, _ := send(`{"model":"chat","input":"hi"}`); code != 200 {
		t.Fatalf("first: %d", code)
	}
	followUp := `{"model":"chat","input":"more","previous_response_id":"resp_1"}`
	if code, h := send(followUp); code != 200 || h.Get(HeaderCache) != "miss" {
		t.Fatalf("follow-up: %d cache=%q", code, h.Get(HeaderCache))
	}
	if code, h := send(followUp); code != 200 || h.Get(HeaderCache) != "hit" {
		t.Fatalf("repeated follow-up: %d cache=%q, want a hit", code, h.Get(HeaderCache))
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/v1/responses/resp_1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if code, h := send(followUp); h.Get(HeaderCache) == "hit" {
		t.Errorf("follow-up of a deleted response: %d served from the cache", code)
	}
}
