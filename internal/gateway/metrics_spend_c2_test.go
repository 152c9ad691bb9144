package gateway

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/telemetry"
)

// embedAndChatUpstream answers OpenAI embeddings with one fixed vector (so
// any two questions are a semantic match) and 11 input tokens, chat calls
// of m-chat with a short answer, and chat calls of m-down with a 500.
func embedAndChatUpstream(t *testing.T) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/embeddings"):
			io.WriteString(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.6,0.8,0]}],"model":"m-embed","usage":{"prompt_tokens":11,"total_tokens":11}}`)
		case strings.Contains(string(b), `"model":"m-down"`):
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error":{"message":"down","type":"server_error","param":null,"code":null}}`)
		default:
			fmt.Fprint(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m-chat","choices":[{"index":0,"message":{"role":"assistant","content":"Paris"},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":3,"total_tokens":23}}`)
		}
	}))
	t.Cleanup(up.Close)
	return up
}

// metricSum is the sum of a counter family's series in reg, and that of
// its series with the label name=value.
func metricSum(t *testing.T, reg *prometheus.Registry, family, name, value string) (all, labelled float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
		for _, m := range mf.GetMetric() {
			v := m.GetCounter().GetValue()
			all += v
			for _, l := range m.GetLabel() {
				if l.GetName() == name && l.GetValue() == value {
					labelled += v
				}
			}
		}
	}
	return all, labelled
}

// TestMetricsCountSpendWithoutDeployment: switchyard_cost_usd_total and
// switchyard_tokens_total add up to the usage records, also for spend no
// deployment answered: a semantic hit's embedding, and the embedding of a
// request whose deployments all failed, counted under deployment="" as
// their records have no deployment (found by audit C).
func TestMetricsCountSpendWithoutDeployment(t *testing.T) {
	up := embedAndChatUpstream(t)
	reg := prometheus.NewRegistry()
	recs := make(records, 16)
	sem := cache.NewSemantic(100, nil)
	g, srv := serveConfig(t, `
providers:
  - {name: up, kind: openai, base_url: "`+up.URL+`/v1"}
deployments:
  - {name: chat, provider: up, model: m-chat, price: {input_per_mtok: 1, output_per_mtok: 2}}
  - {name: down, provider: up, model: m-down, price: {input_per_mtok: 1, output_per_mtok: 2}}
  - {name: embed, provider: up, model: m-embed, price: {input_per_mtok: 7}, capabilities: {chat: false, tools: false, streaming: false, embeddings: true}}
routes:
  - {name: r, targets: [chat]}
  - {name: broken, targets: [down]}
executor: {retries_per_deployment: 0, max_attempts: 1}
cache: {backend: memory, ttl: 1m, semantic: {embedding_deployment: embed, threshold: 0.95}}
`, Options{Cache: cache.NewMemory(1<<20, nil), Semantic: sem, Metrics: telemetry.NewMetrics(reg), Recorder: recs})
	defer srv.Close()
	defer g.Close()

	code, body, h := post(t, srv.URL, `{"model":"r","messages":[{"role":"user","content":"What is the capital of France?"}]}`)
	if code != 200 || h.Get(HeaderCache) != cacheResultMiss {
		t.Fatalf("first: %d %s cache=%q, want a 200 miss", code, body, h.Get(HeaderCache))
	}
	clocktest.WaitFor(t, "the answer in the semantic index", func() bool { return sem.Len() == 1 })
	code, body, h = post(t, srv.URL, `{"model":"r","messages":[{"role":"user","content":"what is the capital of france"}]}`)
	if code != 200 || h.Get(HeaderCache) != cacheResultHit {
		t.Fatalf("second: %d %s cache=%q, want a 200 semantic hit", code, body, h.Get(HeaderCache))
	}
	code, body, _ = post(t, srv.URL, `{"model":"broken","messages":[{"role":"user","content":"Is it down?"}]}`)
	if code < 500 {
		t.Fatalf("broken route: %d %s, want a 5xx", code, body)
	}

	var cost, noDeployCost float64
	var tokens, noDeployTokens int
	for range 3 {
		rec := <-recs
		cost += rec.CostUSD
		tokens += rec.InputTokens + rec.OutputTokens
		if rec.Deployment == "" {
			noDeployCost += rec.CostUSD
			noDeployTokens += rec.InputTokens + rec.OutputTokens
		}
	}
	if noDeployCost <= 0 || noDeployTokens != 22 {
		t.Fatalf("records without a deployment: cost %g, %d tokens; want the two embeddings' (22 tokens)", noDeployCost, noDeployTokens)
	}
	// The metrics are written with the record, after the response: poll.
	clocktest.WaitFor(t, "the metrics of the three requests", func() bool {
		c, _ := metricSum(t, reg, "switchyard_cost_usd_total", "deployment", "")
		return math.Abs(c-cost) < 1e-12
	})
	gotCost, gotNoDeployCost := metricSum(t, reg, "switchyard_cost_usd_total", "deployment", "")
	gotTokens, gotNoDeployTokens := metricSum(t, reg, "switchyard_tokens_total", "deployment", "")
	if math.Abs(gotCost-cost) > 1e-12 || math.Abs(gotNoDeployCost-noDeployCost) > 1e-12 {
		t.Errorf("switchyard_cost_usd_total: %g, %g of it under deployment=\"\"; records: %g, %g", gotCost, gotNoDeployCost, cost, noDeployCost)
	}
	if int(gotTokens) != tokens || int(gotNoDeployTokens) != noDeployTokens {
		t.Errorf("switchyard_tokens_total: %v, %v of it under deployment=\"\"; records: %d, %d", gotTokens, gotNoDeployTokens, tokens, noDeployTokens)
	}
}
