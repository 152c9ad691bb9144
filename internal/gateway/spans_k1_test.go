package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/reqid"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/telemetry"
)

// k1Rig is a gateway behind a real loopback server that records its
// spans in memory, its metrics in a registry of its own and its usage
// records.
type k1Rig struct {
	t       *testing.T
	url     string
	exp     *tracetest.InMemoryExporter
	metrics *telemetry.Metrics
	mu      sync.Mutex
	recs    []store.UsageRecord
}

func (k *k1Rig) Enqueue(rec store.UsageRecord) {
	k.mu.Lock()
	k.recs = append(k.recs, rec)
	k.mu.Unlock()
}

// records is the usage records written so far.
func (k *k1Rig) records() []store.UsageRecord {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]store.UsageRecord(nil), k.recs...)
}

// k1Serve serves the config text yaml, with request ids as the server
// gives them; wrap, when not nil, wraps the gateway's handler.
func k1Serve(t *testing.T, yaml string, wrap func(http.Handler) http.Handler) *k1Rig {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	k := &k1Rig{t: t, exp: tracetest.NewInMemoryExporter(), metrics: telemetry.NewMetrics(prometheus.NewRegistry())}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(k.exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	gw := gateway.New(gateway.Options{Executor: executor.New(gateway.ExecutorOptions(cfg)), Tracer: tp.Tracer("test"), Metrics: k.metrics, Recorder: k})
	if err := gw.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	h := reqid.Middleware(gw.Handler())
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	k.url = srv.URL
	return k
}

// post sends body to path and reads the whole answer.
func (k *k1Rig) post(path, body string) (*http.Response, string) {
	k.t.Helper()
	resp, err := http.Post(k.url+path, "application/json", strings.NewReader(body))
	if err != nil {
		k.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		k.t.Fatal(err)
	}
	return resp, string(b)
}

// k1Request is a request's server span and its upstream-call spans.
type k1Request struct {
	server tracetest.SpanStub
	calls  []tracetest.SpanStub
}

// request waits for the server span of the request with id reqID (any
// request when reqID is "") and returns it with the client spans under it.
func (k *k1Rig) request(reqID string) k1Request {
	k.t.Helper()
	var got k1Request
	clocktest.WaitFor(k.t, "the request's span", func() bool {
		for _, s := range k.exp.GetSpans() {
			if s.SpanKind == trace.SpanKindServer && (reqID == "" || k1Attr(s, "switchyard.request_id") == reqID) {
				got.server = s
				return true
			}
		}
		return false
	})
	for _, s := range k.exp.GetSpans() {
		if s.SpanKind == trace.SpanKindClient && s.Parent.SpanID() == got.server.SpanContext.SpanID() && k1Attr(s, "switchyard.side_call") == "" {
			got.calls = append(got.calls, s)
		}
	}
	return got
}

// k1Attr is a span's attribute key as text, "" when absent.
func k1Attr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

// attempts is switchyard_upstream_attempts_total for route, deployment
// and outcome.
func (k *k1Rig) attempts(route, deployment, outcome string) float64 {
	return testutil.ToFloat64(k.metrics.Attempts.WithLabelValues(route, deployment, outcome))
}

// k1CutStream is an OpenAI-compatible upstream whose chat streams send one
// token and end without a finish reason or [DONE].
func k1CutStream() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, `data: {"id":"c1","object":"chat.completion.chunk","model":"cut-1","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}`+"\n\n")
	}))
}

// A stream that breaks after its first token is a failed upstream call in
// the trace too: the answering call's span has an error status and the
// error.type its metric counts and the request's span says (with the
// usage of what it sent), not the look of a call that succeeded.
func TestK1BrokenStreamCallSpanFailed(t *testing.T) {
	up := k1CutStream()
	defer up.Close()
	k := k1Serve(t, `
providers:
  - {name: up, kind: openai, base_url: "`+up.URL+`/v1"}
deployments:
  - {name: d-cut, provider: up, model: cut-1}
`, nil)
	resp, body := k.post("/v1/chat/completions", `{"model":"d-cut","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 || !strings.Contains(body, "Hel") || !strings.Contains(body, "error") {
		t.Fatalf("got %d %q, want the token then an in-band error", resp.StatusCode, body)
	}
	req := k.request("")
	if got := k1Attr(req.server, "error.type"); got != "unavailable" || k1Attr(req.server, "switchyard.partial") != "true" {
		t.Fatalf("request span error.type %q partial %s, want unavailable, partial", got, k1Attr(req.server, "switchyard.partial"))
	}
	if len(req.calls) != 1 {
		t.Fatalf("got %d call spans, want 1", len(req.calls))
	}
	call := req.calls[0]
	if call.Status.Code != codes.Error || k1Attr(call, "error.type") != "unavailable" {
		t.Errorf("call span status %v error.type %q, want Error and unavailable", call.Status.Code, k1Attr(call, "error.type"))
	}
	if n := k.attempts("d-cut", "d-cut", "unavailable"); n != 1 {
		t.Errorf("attempts_total{outcome=unavailable} = %v, want 1", n)
	}
	if k1Attr(call, "gen_ai.usage.output_tokens") == "" {
		t.Errorf("call span has no usage: what the broken stream sent is billed")
	}
}
