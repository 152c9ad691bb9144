package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/sim"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// cacheCount reads switchyard_cache_total{route, result} from a scrape.
func cacheCount(scrape, route, result string) int {
	re := regexp.MustCompile(`switchyard_cache_total\{result="` + result + `",route="` + regexp.QuoteMeta(route) + `"\} (\d+)`)
	m := re.FindStringSubmatch(scrape)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// send posts body to path with the headers given as name, value pairs.
func (s *tenantStack) send(path, body string, hdr ...string) (int, string, http.Header) {
	s.t.Helper()
	resp, b := postJSON(s.t, s.hc, s.base+path, body, hdr...)
	return resp.StatusCode, string(b), resp.Header
}

// waitStored waits until route's answers stored in the cache reach n.
func (s *tenantStack) waitStored(route string, n int) {
	s.t.Helper()
	var last string
	waitForT(s.t, fmt.Sprintf("%d stored answers on %s", n, route), func() bool {
		last = s.scrape()
		return cacheCount(last, route, "stored") >= n
	}, func() string { return fmt.Sprint(cacheCount(last, route, "stored")) })
}

// TestResponseCache runs the memory cache through the real server and the
// simulated provider: a repeated request is answered from the cache with
// the same bytes and no upstream call, in both dialects, streaming and
// not, and for embeddings; tenants do not share answers; Cache-Control
// no-store and no-cache are obeyed; a cut stream is not stored; and a hit
// is recorded as a cache hit with no deployment and no cost.
func TestResponseCache(t *testing.T) {
	simCfg := simWithFaults("sim-medium", sim.Fault{Type: sim.FaultCut, After: 3})
	simSrv, simURL, stopSim, err := sim.Start(simCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopSim)
	extra := sqliteExtra(t, "cache: {backend: memory, ttl: 1m}\n")
	s := startEditedTenantStack(t, simURL, extra, func(c string) string {
		return strings.Replace(c, "  - name: anthropic-first\n", "  - name: fresh\n    targets: [small]\n    cache: false\n"+
			"  - name: tiered\n    targets: [small]\n    tiers: {gold: embed-free-medium}\n  - name: embed-free-medium\n    targets: [medium]\n  - name: anthropic-first\n", 1)
	})
	a := s.newKey("acme", admin.KeyCreate{Name: "a"})
	b := s.newKey("globex", admin.KeyCreate{Name: "b"})
	calls := func(model string) int { return len(simSrv.Calls(model)) }
	bearer := func(k admin.KeyView) []string { return []string{"Authorization", "Bearer " + k.Secret} }

	// OpenAI chat, not streaming.
	code, first, h := s.send("/v1/chat/completions", tenChatBody, bearer(a)...)
	if code != 200 || h.Get("X-Switchyard-Cache") != "miss" {
		t.Fatalf("first request: %d %q cache=%q, want 200 miss", code, first, h.Get("X-Switchyard-Cache"))
	}
	s.waitStored("cheap", 1)
	code, again, h := s.send("/v1/chat/completions", tenChatBody, bearer(a)...)
	if code != 200 || h.Get("X-Switchyard-Cache") != "hit" || again != first {
		t.Fatalf("repeat: %d cache=%q body %q, want 200 hit with the first body %q", code, h.Get("X-Switchyard-Cache"), again, first)
	}
	if h.Get("Age") == "" || h.Get("X-Switchyard-Route") != "cheap" || h.Get("X-Switchyard-Deployment") != "" ||
		!strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("hit headers: %v", h)
	}
	if n := calls("sim-small"); n != 1 {
		t.Fatalf("upstream calls after a hit: %d, want 1", n)
	}

	// Another tenant's identical request is its own.
	if _, _, h := s.send("/v1/chat/completions", tenChatBody, bearer(b)...); h.Get("X-Switchyard-Cache") != "miss" {
		t.Errorf("another tenant's identical request: cache=%q, want miss", h.Get("X-Switchyard-Cache"))
	}
	s.waitStored("cheap", 2)
	// no-store: neither looked up nor stored; no-cache: not looked up,
	// the fresh answer stored.
	if _, _, h := s.send("/v1/chat/completions", tenChatBody, append(bearer(a), "Cache-Control", "no-store")...); h.Get("X-Switchyard-Cache") != "bypass" {
		t.Errorf("no-store: cache=%q, want bypass", h.Get("X-Switchyard-Cache"))
	}
	if _, _, h := s.send("/v1/chat/completions", tenChatBody, append(bearer(a), "Cache-Control", "max-age=0, No-Cache")...); h.Get("X-Switchyard-Cache") != "miss" {
		t.Errorf("no-cache: cache=%q, want miss", h.Get("X-Switchyard-Cache"))
	}
	if n := calls("sim-small"); n != 4 {
		t.Errorf("upstream calls: %d, want 4 (first, other tenant, no-store, no-cache)", n)
	}
	s.waitStored("cheap", 3)

	// OpenAI streaming: the whole stream is replayed.
	streamBody := strings.Replace(tenChatBody, `"max_tokens":50`, `"max_tokens":50,"stream":true,"stream_options":{"include_usage":true}`, 1)
	_, firstStream, _ := s.send("/v1/chat/completions", streamBody, bearer(a)...)
	s.waitStored("cheap", 4)
	_, againStream, h := s.send("/v1/chat/completions", streamBody, bearer(a)...)
	if h.Get("X-Switchyard-Cache") != "hit" || againStream != firstStream || !strings.HasSuffix(againStream, "data: [DONE]\n\n") ||
		!strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
		t.Errorf("stream repeat: cache=%q type=%q body %q, want a hit replaying %q", h.Get("X-Switchyard-Cache"), h.Get("Content-Type"), againStream, firstStream)
	}

	// Anthropic Messages, streaming, on the same route: its own entry.
	msgBody := `{"model":"cheap","max_tokens":30,"stream":true,"messages":[{"role":"user","content":"hello there"}]}`
	anth := []string{"x-api-key", a.Secret, "anthropic-version", "2023-06-01"}
	_, firstMsg, h := s.send("/v1/messages", msgBody, anth...)
	if h.Get("X-Switchyard-Cache") != "miss" || !strings.Contains(firstMsg, "event: message_stop") {
		t.Fatalf("messages: cache=%q body %q", h.Get("X-Switchyard-Cache"), firstMsg)
	}
	s.waitStored("cheap", 5)
	if _, againMsg, h := s.send("/v1/messages", msgBody, anth...); h.Get("X-Switchyard-Cache") != "hit" || againMsg != firstMsg {
		t.Errorf("messages repeat: cache=%q, body equal %v", h.Get("X-Switchyard-Cache"), againMsg == firstMsg)
	}

	// Embeddings.
	embBody := `{"model":"embed","input":"cache me"}`
	_, firstEmb, _ := s.send("/v1/embeddings", embBody, bearer(a)...)
	s.waitStored("embed", 1)
	if _, againEmb, h := s.send("/v1/embeddings", embBody, bearer(a)...); h.Get("X-Switchyard-Cache") != "hit" || againEmb != firstEmb {
		t.Errorf("embeddings repeat: cache=%q, body equal %v", h.Get("X-Switchyard-Cache"), againEmb == firstEmb)
	}
	if n := calls("sim-embed"); n != 1 {
		t.Errorf("embedding upstream calls: %d, want 1", n)
	}

	// A stream cut by the provider is never stored: the repeat calls again.
	cutBody := `{"model":"medium","max_tokens":40,"stream":true,"messages":[{"role":"user","content":"tell me a long story"}]}`
	for i := range 2 {
		_, body, h := s.send("/v1/chat/completions", cutBody, bearer(a)...)
		if h.Get("X-Switchyard-Cache") != "miss" || strings.Contains(body, "data: [DONE]") {
			t.Errorf("cut stream %d: cache=%q body %q, want a miss without data: [DONE]", i, h.Get("X-Switchyard-Cache"), body)
		}
	}
	if n := calls("sim-medium"); n != 2 {
		t.Errorf("calls for the cut stream: %d, want 2 (a cut answer is not stored)", n)
	}

	// A route with cache: false is never looked up or stored.
	before := calls("sim-small")
	freshBody := strings.Replace(tenChatBody, `"cheap"`, `"fresh"`, 1)
	for i := range 2 {
		if code, _, h := s.send("/v1/chat/completions", freshBody, bearer(a)...); code != 200 || h.Get("X-Switchyard-Cache") != "" {
			t.Errorf("route with cache: false, request %d: %d cache=%q, want 200 and no cache header", i, code, h.Get("X-Switchyard-Cache"))
		}
	}
	if n := calls("sim-small") - before; n != 2 {
		t.Errorf("upstream calls on the uncached route: %d, want 2", n)
	}

	// A key of another tier is routed elsewhere: it gets its own answers.
	gold := s.newKey("acme", admin.KeyCreate{Name: "gold", Tier: "gold"})
	tieredBody := strings.Replace(tenChatBody, `"cheap"`, `"tiered"`, 1)
	s.send("/v1/chat/completions", tieredBody, bearer(a)...)
	s.waitStored("tiered", 1)
	if _, _, h := s.send("/v1/chat/completions", tieredBody, "Authorization", "Bearer "+gold.Secret); h.Get("X-Switchyard-Cache") != "miss" || h.Get("X-Switchyard-Deployment") != "medium" {
		t.Errorf("gold tier after a default-tier answer: cache=%q deployment=%q, want a miss served by medium", h.Get("X-Switchyard-Cache"), h.Get("X-Switchyard-Deployment"))
	}
	if _, _, h := s.send("/v1/chat/completions", tieredBody, bearer(a)...); h.Get("X-Switchyard-Cache") != "hit" {
		t.Errorf("default tier again: cache=%q, want hit", h.Get("X-Switchyard-Cache"))
	}

	scrape := s.scrape()
	if got := cacheCount(scrape, "cheap", "hit"); got != 3 {
		t.Errorf("switchyard_cache_total{route=cheap,result=hit} = %d, want 3", got)
	}
	if got := cacheCount(scrape, "cheap", "bypass"); got != 1 {
		t.Errorf("switchyard_cache_total{route=cheap,result=bypass} = %d, want 1", got)
	}
	s.stop()
	st := storeOf(t, extra)
	hits := 0
	for _, r := range usageRecords(t, st) {
		if !r.CacheHit {
			continue
		}
		hits++
		if r.Status != 200 || r.Deployment != "" || r.CostUSD != 0 || r.InputTokens != 0 || r.TenantID != "acme" {
			t.Errorf("cache-hit record %+v: want status 200, tenant acme, no deployment, tokens or cost", r)
		}
	}
	if hits != 5 {
		t.Errorf("%d usage records say cache_hit, want 5", hits)
	}
}

// storeOnly is tenancy YAML for an open gateway (no admin key) with its own
// SQLite store.
func storeOnly(t *testing.T) string {
	dir := t.TempDir()
	return fmt.Sprintf("store: sqlite://%s/sy.db\nusage: {flush_interval: 20ms, spool_path: %s/usage.spool}\n", dir, dir)
}

// TestResponseCacheSharedByReplicas: with the Redis backend, an answer one
// replica stored is a hit on another.
func TestResponseCacheSharedByReplicas(t *testing.T) {
	simSrv, simURL, stopSim, err := sim.Start(sim.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopSim)
	cacheYAML := fmt.Sprintf("cache: {backend: %q}\n", redisURL(t))
	r1 := startTenantStack(t, simURL, storeOnly(t)+cacheYAML)
	r2 := startTenantStack(t, simURL, storeOnly(t)+cacheYAML)
	code, first, h := r1.send("/v1/chat/completions", tenChatBody)
	if code != 200 || h.Get("X-Switchyard-Cache") != "miss" {
		t.Fatalf("replica 1: %d cache=%q %s", code, h.Get("X-Switchyard-Cache"), first)
	}
	r1.waitStored("cheap", 1)
	code, again, h := r2.send("/v1/chat/completions", tenChatBody)
	if code != 200 || h.Get("X-Switchyard-Cache") != "hit" || again != first {
		t.Fatalf("replica 2: %d cache=%q body %q, want a hit with replica 1's answer %q", code, h.Get("X-Switchyard-Cache"), again, first)
	}
	if n := len(simSrv.Calls("sim-small")); n != 1 {
		t.Errorf("upstream calls: %d, want 1", n)
	}
}

// startWordsSim runs the demo simulator with bag-of-words embeddings
// (texts with the same words are equal), until the test ends.
func startWordsSim(t *testing.T) (*sim.Server, string) {
	t.Helper()
	simCfg := sim.DefaultConfig()
	for i := range simCfg.Models {
		if simCfg.Models[i].Name == "sim-embed" {
			simCfg.Models[i].EmbedWords, simCfg.Models[i].EmbeddingDims = true, 256
		}
	}
	srv, url, stop, err := sim.Start(simCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return srv, url
}

// TestSemanticCacheSharedByReplicas: with a Redis cache, the semantic
// entry one replica indexes reaches the others, so a question asked in
// other words on another replica is a semantic hit with the first answer.
func TestSemanticCacheSharedByReplicas(t *testing.T) {
	simSrv, simURL := startWordsSim(t)
	// redisURL gives this test a key prefix of its own.
	cacheYAML := fmt.Sprintf("cache: {backend: %q, semantic: {embedding_deployment: embed, threshold: 0.95}}\n", redisURL(t))
	r1 := startTenantStack(t, simURL, storeOnly(t)+cacheYAML)
	r2 := startTenantStack(t, simURL, storeOnly(t)+cacheYAML)
	ask := func(s *tenantStack, question string) (string, http.Header) {
		t.Helper()
		body := fmt.Sprintf(`{"model":"cheap","messages":[{"role":"user","content":%q}]}`, question)
		code, out, h := s.send("/v1/chat/completions", body)
		if code != 200 {
			t.Fatalf("%q: %d %s", question, code, out)
		}
		return out, h
	}
	first, h := ask(r1, "What is the capital of France?")
	if h.Get("X-Switchyard-Cache") != "miss" {
		t.Fatalf("replica 1: cache=%q", h.Get("X-Switchyard-Cache"))
	}
	waitForT(t, "replica 2 to learn replica 1's semantic entry", func() bool { return r2.rc.semantic.Len() == 1 },
		func() string { return fmt.Sprint(r2.rc.semantic.Len()) })
	again, h := ask(r2, "what is the capital of france")
	if h.Get("X-Switchyard-Cache") != "hit" || again != first {
		t.Fatalf("replica 2: cache=%q, same answer %v; want a semantic hit with replica 1's answer", h.Get("X-Switchyard-Cache"), again == first)
	}
	if n := len(simSrv.Calls("sim-small")); n != 1 {
		t.Errorf("upstream chat calls: %d, want 1", n)
	}
}

// TestResponseCacheRedisDown: a cache that cannot be reached costs upstream
// calls, never a request, and its URL's password appears nowhere.
func TestResponseCacheRedisDown(t *testing.T) {
	simSrv, simURL, stopSim, err := sim.Start(sim.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopSim)
	const canary = "cache-pw-canary-51f0"
	s := startTenantStack(t, simURL, storeOnly(t)+"cache: {backend: \"redis://:"+canary+"@127.0.0.1:1/0\"}\n")
	for i := range 2 {
		code, body, h := s.send("/v1/chat/completions", tenChatBody)
		if code != 200 || h.Get("X-Switchyard-Cache") != "miss" || strings.Contains(body, canary) {
			t.Fatalf("request %d with Redis down: %d cache=%q %s, want 200 miss", i, code, h.Get("X-Switchyard-Cache"), body)
		}
	}
	if n := len(simSrv.Calls("sim-small")); n != 2 {
		t.Errorf("upstream calls: %d, want 2", n)
	}
	scrape := s.scrape()
	if got := cacheCount(scrape, "cheap", "error"); got < 2 {
		t.Errorf("switchyard_cache_total{result=error} = %d, want at least 2", got)
	}
	if strings.Contains(scrape, canary) || strings.Contains(s.logs.String(), canary) {
		t.Error("the cache URL's password leaked into metrics or logs")
	}
	if !strings.Contains(s.logs.String(), "cache lookup failed") {
		t.Error("no log line for the failed lookup")
	}
}

// TestSemanticCache: with cache.semantic on, a request whose last user
// message means the same (here: the same words, per the simulator's
// bag-of-words embeddings) is answered from the cache, all else equal; a
// different question, another parameter or another tenant is a miss.
func TestSemanticCache(t *testing.T) {
	simSrv, simURL := startWordsSim(t)
	extra := sqliteExtra(t, "cache: {backend: memory, semantic: {embedding_deployment: embed, threshold: 0.95}}\n")
	s := startTenantStack(t, simURL, extra)
	a := s.newKey("acme", admin.KeyCreate{Name: "a"})
	b := s.newKey("globex", admin.KeyCreate{Name: "b"})
	calls := func() int { return len(simSrv.Calls("sim-small")) }
	ask := func(k admin.KeyView, question, extra string) (string, http.Header) {
		t.Helper()
		body := fmt.Sprintf(`{"model":"cheap",%s"messages":[{"role":"system","content":"Answer briefly."},{"role":"user","content":%q}]}`, extra, question)
		code, out, h := s.send("/v1/chat/completions", body, "Authorization", "Bearer "+k.Secret)
		if code != 200 {
			t.Fatalf("%q: %d %s", question, code, out)
		}
		return out, h
	}

	first, h := ask(a, "What is the capital of France?", "")
	if h.Get("X-Switchyard-Cache") != "miss" {
		t.Fatalf("first: cache=%q", h.Get("X-Switchyard-Cache"))
	}
	s.waitStored("cheap", 1)
	again, h := ask(a, "what is the capital of france", "")
	if h.Get("X-Switchyard-Cache") != "hit" || again != first || calls() != 1 {
		t.Fatalf("same words: cache=%q, body equal %v, upstream calls %d; want a hit with the first answer", h.Get("X-Switchyard-Cache"), again == first, calls())
	}
	if sim, err := strconv.ParseFloat(h.Get("X-Switchyard-Cache-Similarity"), 64); err != nil || sim < 0.999 {
		t.Errorf("similarity header %q, want about 1", h.Get("X-Switchyard-Cache-Similarity"))
	}
	for _, tt := range []struct {
		name     string
		key      admin.KeyView
		question string
		extra    string
	}{
		{"another question", a, "What is the capital of Spain?", ""},
		{"another parameter", a, "what is the capital of france", `"max_tokens":20,`},
		{"another tenant", b, "what is the capital of france", ""},
	} {
		before := calls()
		if _, h := ask(tt.key, tt.question, tt.extra); h.Get("X-Switchyard-Cache") != "miss" || calls() != before+1 {
			t.Errorf("%s: cache=%q, upstream calls +%d; want a miss", tt.name, h.Get("X-Switchyard-Cache"), calls()-before)
		}
	}

	// The Responses API's string input is its last user message.
	_, _, h = s.send("/v1/responses", `{"model":"cheap","input":"Name three rivers in Europe."}`, "Authorization", "Bearer "+a.Secret)
	if h.Get("X-Switchyard-Cache") != "miss" {
		t.Fatalf("responses first: cache=%q", h.Get("X-Switchyard-Cache"))
	}
	s.waitStored("cheap", 5)
	if _, _, h := s.send("/v1/responses", `{"model":"cheap","input":"name three rivers in europe"}`, "Authorization", "Bearer "+a.Secret); h.Get("X-Switchyard-Cache") != "hit" {
		t.Errorf("responses, same words: cache=%q, want hit", h.Get("X-Switchyard-Cache"))
	}
	if got := cacheCount(s.scrape(), "cheap", "semantic_hit"); got != 2 {
		t.Errorf("switchyard_cache_total{result=semantic_hit} = %d, want 2", got)
	}

	s.stop()
	st := storeOf(t, extra)
	hits := 0
	for _, r := range usageRecords(t, st) {
		if r.CacheHit {
			hits++
			// The embedding call that found the hit is the request's cost.
			if r.InputTokens == 0 || r.Deployment != "" {
				t.Errorf("semantic hit record %+v: want the embedding's input tokens and no deployment", r)
			}
		}
	}
	if hits != 2 {
		t.Errorf("%d cache-hit records, want 2", hits)
	}
}

// TestCachePurge: DELETE /admin/cache empties one tenant's answers (a
// tenant admin's own only) or, for the global admin, all of them.
func TestCachePurge(t *testing.T) {
	s := startTenantStack(t, startSim(t, sim.DefaultConfig()), sqliteExtra(t, "cache: {backend: memory}\n"))
	acme := s.newKey("acme", admin.KeyCreate{Name: "a"})
	globex := s.newKey("globex", admin.KeyCreate{Name: "g"})
	globexAdmin := s.newKey("globex", admin.KeyCreate{Name: "ga", Role: store.RoleTenantAdmin})
	ask := func(k admin.KeyView) string {
		t.Helper()
		_, _, h := s.send("/v1/chat/completions", tenChatBody, "Authorization", "Bearer "+k.Secret)
		return h.Get("X-Switchyard-Cache")
	}
	purge := func(secret, query string) (int, int) {
		t.Helper()
		req, _ := http.NewRequest("DELETE", s.admin+"/admin/cache"+query, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Purged int }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.Purged
	}
	ask(acme)
	ask(globex)
	s.waitStored("cheap", 2)

	if code, _ := purge(globexAdmin.Secret, "?tenant_id=acme"); code != 404 {
		t.Errorf("a tenant admin purging another tenant: %d, want 404", code)
	}
	if code, n := purge(globexAdmin.Secret, ""); code != 200 || n != 1 {
		t.Errorf("globex's admin purging its own: %d purged %d, want 200 and 1", code, n)
	}
	if got := ask(globex); got != "miss" {
		t.Errorf("globex after its purge: %q, want miss", got)
	}
	if got := ask(acme); got != "hit" {
		t.Errorf("acme after globex's purge: %q, want hit", got)
	}
	s.waitStored("cheap", 3)
	if code, n := purge(canaryAdmin, ""); code != 200 || n != 2 {
		t.Errorf("the global admin purging all: %d purged %d, want 200 and 2", code, n)
	}
	if got := ask(acme); got != "miss" {
		t.Errorf("acme after the global purge: %q, want miss", got)
	}
}

// TestSemanticCacheEmbeddingDown: an embedding deployment that fails makes
// the semantic lookup a miss, never the request a failure.
func TestSemanticCacheEmbeddingDown(t *testing.T) {
	simSrv, simURL, stopSim, err := sim.Start(simWithFaults("sim-embed", sim.Fault{Type: sim.FaultStatus, Status: 500}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopSim)
	s := startTenantStack(t, simURL, storeOnly(t)+"cache: {backend: memory, semantic: {embedding_deployment: embed}}\n")
	for i := range 2 {
		body := strings.Replace(tenChatBody, "hello there", fmt.Sprintf("question %d", i), 1)
		if code, out, h := s.send("/v1/chat/completions", body); code != 200 || h.Get("X-Switchyard-Cache") != "miss" {
			t.Fatalf("request %d with the embedding deployment failing: %d cache=%q %s, want 200 miss", i, code, h.Get("X-Switchyard-Cache"), out)
		}
	}
	if n := len(simSrv.Calls("sim-embed")); n == 0 {
		t.Error("the embedding deployment was never called")
	}
	if got := cacheCount(s.scrape(), "cheap", "error"); got < 2 {
		t.Errorf("switchyard_cache_total{result=error} = %d, want at least 2", got)
	}
	if !strings.Contains(s.logs.String(), "cache embedding failed") {
		t.Error("no log line for the failed embedding")
	}
}

// TestCacheForgetsDeletedResponses: a Responses API answer in the cache
// names its response; once the tenant deletes that response, a repeated
// request is not answered with it (a follow-up would find nothing), for
// relayed and translated responses, whole and streamed.
func TestCacheForgetsDeletedResponses(t *testing.T) {
	s := startTenantStack(t, startSim(t, sim.DefaultConfig()), sqliteExtra(t, "cache: {backend: memory}\n"))
	k := s.newKey("acme", admin.KeyCreate{})
	auth := []string{"Authorization", "Bearer " + k.Secret}
	stored := map[string]int{} // answers stored so far, per route
	for _, tc := range []struct{ model, stream string }{{"medium", "false"}, {"claude", "false"}, {"medium", "true"}} {
		body := `{"model":"` + tc.model + `","stream":` + tc.stream + `,"input":"Name a river in ` + tc.model + tc.stream + `."}`
		_, first, h := s.send("/v1/responses", body, auth...)
		if h.Get("X-Switchyard-Cache") != "miss" {
			t.Fatalf("%s: first: cache %q", body, h.Get("X-Switchyard-Cache"))
		}
		stored[tc.model]++
		s.waitStored(tc.model, stored[tc.model])
		if _, _, h := s.send("/v1/responses", body, auth...); h.Get("X-Switchyard-Cache") != "hit" {
			t.Fatalf("%s: repeated: cache %q, want hit", body, h.Get("X-Switchyard-Cache"))
		}
		i := strings.Index(first, `"id":"resp_`)
		id := first[i+6 : i+6+strings.Index(first[i+6:], `"`)]
		req, _ := http.NewRequest("DELETE", s.base+"/v1/responses/"+id, nil)
		req.Header.Set(auth[0], auth[1])
		resp, err := s.hc.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: delete %s: %v %v", body, id, resp, err)
		}
		resp.Body.Close()
		_, again, h := s.send("/v1/responses", body, auth...)
		if h.Get("X-Switchyard-Cache") == "hit" || strings.Contains(again, id) {
			t.Errorf("%s: after deleting %s: cache %q, answer naming it %v", body, id, h.Get("X-Switchyard-Cache"), strings.Contains(again, id))
		}
		// The new answer is stored in its turn.
		stored[tc.model]++
		s.waitStored(tc.model, stored[tc.model])
	}
}

// TestCacheStoreDoesNotHoldTheResponse: with a cache Redis that accepts
// and never answers, the client's stream ends before the cache write gives
// up (the write runs after the response), not after it.
func TestCacheStoreDoesNotHoldTheResponse(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), storeOnly(t)+"cache: {backend: \"redis://"+silentServer(t)+"/0?read_timeout=3s&write_timeout=3s\"}\n")
	code, body, _ := s.send("/v1/chat/completions", `{"model":"cheap","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if code != 200 || !strings.Contains(body, "data: [DONE]") {
		t.Fatalf("got %d %s", code, body)
	}
	if strings.Contains(s.logs.String(), "cache store failed") {
		t.Errorf("the cache write failed before the client's stream ended: it held the response")
	}
	clocktest.WaitFor(t, "the cache write to give up", func() bool { return strings.Contains(s.logs.String(), "cache store failed") })
}

// TestCacheHitNamesDroppedParams: a hit is the answer of a deployment that
// did not get every field, so it names them as its miss did; and a Chat
// Completions request with store: true, which asks for a new stored
// completion (one the tenant may delete), is neither served from the
// cache nor stored in it (found by audit K: a deleted completion was still
// served, and a hit hid that the seed was dropped).
func TestCacheHitNamesDroppedParams(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, "cache: {backend: memory}\n"))
	k := s.newKey("acme", admin.KeyCreate{})
	auth := []string{"Authorization", "Bearer " + k.Secret}
	body := `{"model":"claude","seed":7,"messages":[{"role":"user","content":"Name a lake."}]}`
	if _, _, h := s.send("/v1/chat/completions", body, auth...); h.Get("X-Switchyard-Cache") != "miss" || h.Get("X-Switchyard-Dropped-Params") != "seed" {
		t.Fatalf("first: cache %q, dropped %q, want miss and seed", h.Get("X-Switchyard-Cache"), h.Get("X-Switchyard-Dropped-Params"))
	}
	s.waitStored("claude", 1)
	if _, _, h := s.send("/v1/chat/completions", body, auth...); h.Get("X-Switchyard-Cache") != "hit" || h.Get("X-Switchyard-Dropped-Params") != "seed" {
		t.Errorf("repeated: cache %q, dropped %q, want hit and seed", h.Get("X-Switchyard-Cache"), h.Get("X-Switchyard-Dropped-Params"))
	}

	stored := `{"model":"medium","store":true,"messages":[{"role":"user","content":"Name a sea."}]}`
	for i := range 2 {
		code, out, h := s.send("/v1/chat/completions", stored, auth...)
		if code != 200 || h.Get("X-Switchyard-Cache") != "" {
			t.Errorf("store: true, request %d: got %d, cache %q, want 200 and no cache: %s", i, code, h.Get("X-Switchyard-Cache"), out)
		}
	}
}
