package gateway_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/server"
	"github.com/switchyard-gw/switchyard/internal/telemetry"
)

// The gateway's overhead against the floor, a bare httputil.ReverseProxy,
// both in front of the same instant upstream and driven through real
// loopback sockets by the same client. Compare ns/op and allocs/op of the
// pairs (allocations count every goroutine: client, proxy and upstream):
//
//	go test -run '^$' -bench 'Floor|Gateway' -benchmem ./internal/gateway
//
// docs/benchmarks.md records the figures.

const (
	benchJSON = `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":8,"completion_tokens":16,"total_tokens":24}}`
	benchBody = `{"model":"%s","messages":[{"role":"user","content":"Say hello in a few words."}],"max_tokens":16,"stream":%t}`
)

// benchStream is a 16-token OpenAI stream with a usage chunk and [DONE].
var benchStream = func() []byte {
	var b bytes.Buffer
	chunk := func(delta, finish string) {
		fmt.Fprintf(&b, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":%s,"finish_reason":%s}]}`+"\n\n", delta, finish)
	}
	chunk(`{"role":"assistant","content":""}`, "null")
	for i, w := range strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi") {
		if i > 0 {
			w = " " + w
		}
		chunk(fmt.Sprintf(`{"content":%q}`, w), "null")
	}
	chunk(`{}`, `"stop"`)
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[],"usage":{"prompt_tokens":8,"completion_tokens":16,"total_tokens":24}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}()

// upstream answers every chat request at once, JSON or a stream.
func upstream(b *testing.B) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if gjson.GetBytes(body, "stream").Bool() {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write(benchStream)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, benchJSON)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// floor is bench/floor in process: it buffers the request body (see
// bench/floor for why) and proxies with FlushInterval -1.
func floor(b *testing.B, up string) string {
	b.Helper()
	target, err := url.Parse(up)
	if err != nil {
		b.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	proxy := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:     tr,
		FlushInterval: -1,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		proxy.ServeHTTP(w, r)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// switchyard is the gateway as app.Serve wires it (server middleware,
// metrics, executor, one OpenAI deployment behind route "auto").
func switchyard(b *testing.B, up string) string {
	return switchyardWith(b, up, "")
}

// switchyardWith is switchyard with extra YAML; a cache section gets a
// memory store.
func switchyardWith(b *testing.B, up, extra string) string {
	b.Helper()
	return serveConfig(b, fmt.Sprintf(`
providers:
  - {name: up, kind: openai, base_url: %q}
deployments:
  - {name: bench, provider: up, model: bench}
routes:
  - {name: auto, targets: [bench]}
%s`, up+"/v1", extra))
}

// serveConfig serves the gateway on the config text, as app.Serve wires
// it; a cache section gets a memory store.
func serveConfig(b *testing.B, text string) string {
	b.Helper()
	cfg, err := config.Parse([]byte(text), os.Getenv)
	if err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	metrics := telemetry.NewMetrics(reg)
	var store cache.Store
	if cfg.Cache.Enabled() {
		store = cache.NewMemory(cfg.Cache.MaxBytes, nil)
	}
	gw := gateway.New(gateway.Options{Metrics: metrics, Executor: executor.New(gateway.ExecutorOptions(cfg)), Cache: store})
	if err := gw.Apply(cfg); err != nil {
		b.Fatal(err)
	}
	s := server.New(server.Options{API: gw.Handler(), Ready: gw.Ready, Gatherer: reg, InFlight: metrics.InFlight})
	srv := httptest.NewServer(s.Handler())
	b.Cleanup(srv.Close)
	return srv.URL
}

// drive sends b.N requests one after another and checks every answer.
func drive(b *testing.B, base, model string, stream bool) {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	body := fmt.Appendf(nil, benchBody, model, stream)
	want := []byte(`"choices"`)
	if stream {
		want = []byte("data: [DONE]")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Post(base+"/v1/chat/completions", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(got, want) {
			b.Fatalf("got status %d err %v body %.200q, want 200 with %s", resp.StatusCode, err, got, want)
		}
	}
}

func BenchmarkFloorReverseProxy(b *testing.B) {
	for _, stream := range []bool{false, true} {
		b.Run(mode(stream), func(b *testing.B) {
			drive(b, floor(b, upstream(b).URL), "bench", stream)
		})
	}
}

func BenchmarkGatewayOverhead(b *testing.B) {
	for _, stream := range []bool{false, true} {
		b.Run(mode(stream), func(b *testing.B) {
			drive(b, switchyard(b, upstream(b).URL), "auto", stream)
		})
	}
}

// BenchmarkGatewayCacheHit: every request after the first is answered
// from the memory cache, no upstream call.
func BenchmarkGatewayCacheHit(b *testing.B) {
	for _, stream := range []bool{false, true} {
		b.Run(mode(stream), func(b *testing.B) {
			drive(b, switchyardWith(b, upstream(b).URL, "cache: {backend: memory}\n"), "auto", stream)
		})
	}
}

// BenchmarkGatewayCacheMiss: every request is new, so each pays the
// lookup, the copy of its answer and the store on top of the upstream
// call; compare with BenchmarkGatewayOverhead/json.
func BenchmarkGatewayCacheMiss(b *testing.B) {
	base := switchyardWith(b, upstream(b).URL, "cache: {backend: memory}\n")
	tr := &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		body := fmt.Sprintf(`{"model":"auto","messages":[{"role":"user","content":"Say hello in a few words. %d"}],"max_tokens":16}`, i)
		resp, err := client.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get(gateway.HeaderCache) != "miss" {
			b.Fatalf("got status %d cache %q err %v body %.200q, want a 200 miss", resp.StatusCode, resp.Header.Get(gateway.HeaderCache), err, got)
		}
	}
}

func BenchmarkUpstreamDirect(b *testing.B) {
	for _, stream := range []bool{false, true} {
		b.Run(mode(stream), func(b *testing.B) {
			drive(b, upstream(b).URL, "bench", stream)
		})
	}
}

func mode(stream bool) string {
	if stream {
		return "stream"
	}
	return "json"
}
