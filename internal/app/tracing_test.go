package app

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/sim"
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
	// A request the server refuses before any endpoint runs is a span
	// too (found by audit AH: a 405 or 415 had none).
	req, _ := http.NewRequest("PUT", s.base+"/v1/chat/completions", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: got %v %v, want 405", resp, err)
	} else {
		resp.Body.Close()
	}
	s.stop() // shutdown flushes the batch of spans

	mu.Lock()
	defer mu.Unlock()
	all := bytes.Join(bodies, nil)
	if len(bodies) == 0 {
		t.Fatal("collector received no trace export")
	}
	for _, want := range []string{"switchyard.chat", "switchyard.route", "auto", "switchyard.deployment", "medium", "switchyard", "switchyard.refused", "method_not_allowed"} {
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
	clocktest.WaitFor(t, "the tracing reconfiguration", func() bool { return strings.Contains(s.logs.String(), "tracing reconfigured") })
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

// TestTracesShowEachUpstreamCall: a request that fails over is one server
// span with a client span per upstream call under it, in OpenTelemetry's
// GenAI conventions: the failed calls with their status and error type,
// the answering one with the model that answered and the usage.
func TestTracesShowEachUpstreamCall(t *testing.T) {
	var mu sync.Mutex
	var spans []*tracepb.Span
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err == nil {
			mu.Lock()
			for _, rs := range req.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					spans = append(spans, ss.Spans...)
				}
			}
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	cfg := strings.Replace(baseConfig, "routes:", "telemetry:\n  otlp_endpoint: "+collector.URL+"/v1/traces\nroutes:", 1)
	s := startStack(t, withFaults(fastSim(), "sim-medium", sim.Fault{Type: sim.FaultStatus, Status: 500, Times: 2}), cfg)
	if resp, body := s.post("/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Deployment") != "claude" {
		t.Fatalf("status %d from %q: %s", resp.StatusCode, resp.Header.Get("X-Switchyard-Deployment"), body)
	}
	if resp, body := s.post("/v1/embeddings", `{"model":"embed","input":"hi"}`); resp.StatusCode != 200 {
		t.Fatalf("embeddings: %d %s", resp.StatusCode, body)
	}
	s.stop()

	mu.Lock()
	defer mu.Unlock()
	attrs := func(sp *tracepb.Span) map[string]string {
		m := map[string]string{}
		for _, kv := range sp.Attributes {
			switch v := kv.Value.Value.(type) {
			case *commonpb.AnyValue_StringValue:
				m[kv.Key] = v.StringValue
			case *commonpb.AnyValue_IntValue:
				m[kv.Key] = strconv.FormatInt(v.IntValue, 10)
			}
		}
		return m
	}
	var server, embed *tracepb.Span
	for _, sp := range spans {
		switch {
		case sp.Kind == tracepb.Span_SPAN_KIND_SERVER && sp.Name == "switchyard.chat":
			server = sp
		case sp.Kind == tracepb.Span_SPAN_KIND_SERVER && sp.Name == "switchyard.embeddings":
			embed = sp
		}
	}
	if server == nil || embed == nil {
		t.Fatalf("got chat span %v, embeddings span %v; want both", server != nil, embed != nil)
	}
	var calls []*tracepb.Span
	for _, sp := range spans {
		if sp.Kind != tracepb.Span_SPAN_KIND_CLIENT {
			continue
		}
		if bytes.Equal(sp.TraceId, server.TraceId) {
			calls = append(calls, sp)
			continue
		}
		// The embeddings call is named for its operation, not as chat.
		if a := attrs(sp); !bytes.Equal(sp.ParentSpanId, embed.SpanId) || sp.Name != "embeddings sim-embed" || a["gen_ai.operation.name"] != "embeddings" {
			t.Errorf("embeddings call: %s %v", sp.Name, a)
		}
	}
	if len(calls) != 3 {
		t.Fatalf("got %d client spans of the chat request, want 3 (two failed calls to medium, one to claude)", len(calls))
	}
	slices.SortFunc(calls, func(a, b *tracepb.Span) int {
		return strings.Compare(attrs(a)["switchyard.attempt"], attrs(b)["switchyard.attempt"])
	})
	for i, sp := range calls {
		a := attrs(sp)
		if !bytes.Equal(sp.ParentSpanId, server.SpanId) || !bytes.Equal(sp.TraceId, server.TraceId) {
			t.Errorf("call %d is not a child of the request's span", i+1)
		}
		if sp.StartTimeUnixNano < server.StartTimeUnixNano || sp.EndTimeUnixNano > server.EndTimeUnixNano || sp.EndTimeUnixNano < sp.StartTimeUnixNano {
			t.Errorf("call %d lies outside the request's span", i+1)
		}
		if a["gen_ai.operation.name"] != "chat" {
			t.Errorf("call %d: %v", i+1, a)
		}
		if i < 2 {
			if sp.Name != "chat sim-medium" || a["gen_ai.provider.name"] != "openai" || a["http.response.status_code"] != "500" || a["error.type"] == "" ||
				sp.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
				t.Errorf("failed call %d: %s %v status %v", i+1, sp.Name, a, sp.Status)
			}
			continue
		}
		if sp.Name != "chat sim-large" || a["gen_ai.provider.name"] != "anthropic" || a["gen_ai.response.model"] != "sim-large" ||
			a["gen_ai.usage.output_tokens"] == "" || a["gen_ai.usage.output_tokens"] == "0" || a["error.type"] != "" {
			t.Errorf("answering call: %s %v", sp.Name, a)
		}
	}
}
