package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

// Tests of the "Gateway core" promises not covered by sdk_test and
// fault_test: passthrough, probes and metrics, limits and error shapes,
// logs, static keys, hot reload, graceful drain and cross-dialect usage.

// recorder is a reverse proxy in front of the simulated provider that keeps
// every request body it forwards.
type recorder struct {
	srv *httptest.Server
	mu  sync.Mutex
	to  *url.URL
	got []recorded
}

type recorded struct {
	path string
	hdr  http.Header
	body []byte
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			r.mu.Lock()
			to := r.to
			r.mu.Unlock()
			pr.SetURL(to)
		},
		FlushInterval: -1,
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, recorded{path: req.URL.Path, hdr: req.Header.Clone(), body: body})
		r.mu.Unlock()
		req.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) target(raw string) {
	u, _ := url.Parse(raw)
	r.mu.Lock()
	r.to = u
	r.mu.Unlock()
}

func (r *recorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

// startRecorded runs baseConfig with both providers behind a recorder.
func startRecorded(t *testing.T, simCfg sim.Config, extra func(string) string) (*stack, *recorder) {
	rec := newRecorder(t)
	cfg := strings.ReplaceAll(baseConfig, "{{SIM}}", rec.srv.URL)
	if extra != nil {
		cfg = extra(cfg)
	}
	s := startStack(t, simCfg, cfg)
	rec.target(s.simURL)
	return s, rec
}

func TestPassthroughUnknownFields(t *testing.T) {
	s, rec := startRecorded(t, fastSim(), nil)
	const oaFields = `"messages":[{"role":"user","content":"hi","x_msg_extra":{"k":true}}],"logit_bias":{"50256":-100},"seed":42,"x_custom":{"a":[1,2]},"temperature":0.25,"user":"u-1"`
	tests := []struct {
		name, path, body, wantModel string
		stream                      bool
	}{
		{name: "openai", path: "/v1/chat/completions", wantModel: "sim-medium",
			body: `{"model":"medium",` + oaFields + `}`},
		{name: "openai stream", path: "/v1/chat/completions", wantModel: "sim-medium", stream: true,
			body: `{"model":"medium","stream":true,` + oaFields + `}`},
		{name: "anthropic", path: "/v1/messages", wantModel: "sim-large",
			body: `{"model":"claude","max_tokens":64,"messages":[{"role":"user","content":[{"type":"text","text":"hi","x_block":1}]}],"metadata":{"user_id":"u-1"},"top_k":5,"x_unknown":{"n":[1,"two",null]}}`},
		{name: "anthropic stream", path: "/v1/messages", wantModel: "sim-large", stream: true,
			body: `{"model":"claude","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}],"metadata":{"user_id":"u-1"},"top_k":5,"x_unknown":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.take()
			resp, b := s.post(tt.path, tt.body)
			if resp.StatusCode != 200 {
				t.Fatalf("status: got %d, want 200; %s", resp.StatusCode, b)
			}
			got := rec.take()
			if len(got) != 1 {
				t.Fatalf("upstream requests: got %d, want 1", len(got))
			}
			if got[0].path != tt.path {
				t.Errorf("upstream path: got %q, want %q", got[0].path, tt.path)
			}
			up := got[0].body
			if m := gjson.GetBytes(up, "model").String(); m != tt.wantModel {
				t.Errorf("upstream model: got %q, want %q", m, tt.wantModel)
			}
			if tt.stream && tt.path == "/v1/chat/completions" {
				if !gjson.GetBytes(up, "stream_options.include_usage").Bool() {
					t.Errorf("upstream stream_options: got %s, want include_usage", up)
				}
				up, _ = sjson.DeleteBytes(up, "stream_options")
			}
			up, _ = sjson.SetBytes(up, "model", gjson.Get(tt.body, "model").String())
			if !bytes.Equal(up, []byte(tt.body)) {
				t.Errorf("upstream body (model restored):\n got %s\nwant %s", up, tt.body)
			}
		})
	}
}

// metric returns the value of the sample whose line starts with prefix
// (name and labels in Prometheus text order), or -1.
func (s *stack) metric(prefix string) float64 {
	s.t.Helper()
	resp, err := s.hc.Get(s.base + "/metrics")
	if err != nil {
		s.t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), prefix+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				s.t.Fatalf("metric %s: %v", prefix, err)
			}
			return v
		}
	}
	return -1
}

func (s *stack) get(path string) (int, string) {
	s.t.Helper()
	resp, err := s.hc.Get(s.base + path)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestProbesAndMetrics(t *testing.T) {
	s := startStack(t, withFaults(fastSim(), "sim-medium", sim.Fault{Type: sim.FaultStatus, Status: 503}), "")
	if code, body := s.get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: got %d %q, want 200 ok", code, body)
	}
	if code, _ := s.get("/readyz"); code != 200 {
		t.Errorf("readyz: got %d, want 200", code)
	}
	// auto: medium fails twice (one retry), claude answers.
	if resp, b := s.post("/v1/chat/completions", chatBody); resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Deployment") != "claude" {
		t.Fatalf("fallback request: got %d via %q, want 200 via claude; %s", resp.StatusCode, resp.Header.Get("X-Switchyard-Deployment"), b)
	}
	if resp, b := s.post("/v1/chat/completions", `{"model":"cheap","stream":true,"messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 || !strings.Contains(string(b), "[DONE]") {
		t.Fatalf("stream: got %d %s", resp.StatusCode, b)
	}
	tests := []struct {
		name, sample string
		want         float64
	}{
		{name: "requests", sample: `switchyard_requests_total{deployment="claude",route="auto",status="200"}`, want: 1},
		{name: "stream request", sample: `switchyard_requests_total{deployment="small",route="cheap",status="200"}`, want: 1},
		{name: "duration", sample: `switchyard_request_duration_seconds_count{deployment="claude",route="auto"}`, want: 1},
		{name: "ttft after a stream", sample: `switchyard_time_to_first_token_seconds_count{deployment="small",route="cheap"}`, want: 1},
		{name: "failed attempts", sample: `switchyard_upstream_attempts_total{deployment="medium",outcome="unavailable",route="auto"}`, want: 2},
		{name: "fallback attempt", sample: `switchyard_upstream_attempts_total{deployment="claude",outcome="ok",route="auto"}`, want: 1},
		{name: "fallbacks", sample: `switchyard_fallbacks_total{route="auto"}`, want: 1},
		{name: "no fallback on cheap", sample: `switchyard_fallbacks_total{route="cheap"}`, want: -1},
		{name: "config loaded", sample: `switchyard_config_loads_total{result="ok"}`, want: 1},
	}
	// The request's metrics are written after its response: poll briefly.
	clocktest.WaitFor(t, "request metrics", func() bool { return s.metric(tests[1].sample) == 1 && s.metric(tests[0].sample) == 1 })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.metric(tt.sample); got != tt.want {
				t.Errorf("%s: got %v, want %v", tt.sample, got, tt.want)
			}
		})
	}
}

// errShape decodes either dialect's error body.
type errShape struct {
	Type  string `json:"type"`
	Error struct {
		Type    string  `json:"type"`
		Code    *string `json:"code"`
		Message string  `json:"message"`
	} `json:"error"`
}

const (
	promptCanary = "PROMPT-CANARY-5d1f"
	keyCanary    = "sk-PROVIDER-CANARY-8c2e"
)

func TestLogsHaveNoPromptOrSecret(t *testing.T) {
	t.Setenv("CORE_PROVIDER_KEY", keyCanary)
	s, rec := startRecorded(t, fastSim(), func(c string) string {
		return strings.ReplaceAll(c, "    kind: openai\n", "    kind: openai\n    api_key: \"${CORE_PROVIDER_KEY}\"\n")
	})
	oaBody := `{"model":"auto","messages":[{"role":"user","content":"` + promptCanary + `"}]%s}`
	requests := []struct {
		path, body, deployment string
		stream                 bool
	}{
		{path: "/v1/chat/completions", body: strings.Replace(oaBody, "%s", "", 1), deployment: "medium"},
		{path: "/v1/chat/completions", body: strings.Replace(oaBody, "%s", `,"stream":true`, 1), deployment: "medium", stream: true},
		{path: "/v1/messages", body: `{"model":"claude","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"` + promptCanary + `"}]}`, deployment: "claude", stream: true},
		{path: "/v1/messages", body: `{"model":"small","max_tokens":50,"messages":[{"role":"user","content":"` + promptCanary + `"}]}`, deployment: "small"},
	}
	ids := map[string]bool{}
	for i, r := range requests {
		resp, b := s.post(r.path, r.body, "X-Request-Id", "canary-req-"+strconv.Itoa(i))
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: got %d, want 200; %s", i, resp.StatusCode, b)
		}
		ids["canary-req-"+strconv.Itoa(i)] = true
	}
	// The key did reach the provider, so its absence from logs means something.
	var sawKey bool
	for _, g := range rec.take() {
		sawKey = sawKey || g.hdr.Get("Authorization") == "Bearer "+keyCanary
	}
	if !sawKey {
		t.Fatal("the provider api_key never reached the OpenAI upstream")
	}
	lines := func() []map[string]any {
		var out []map[string]any
		for l := range strings.SplitSeq(s.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
				out = append(out, m)
			}
		}
		return out
	}
	clocktest.WaitFor(t, "a request log line per request", func() bool { return len(lines()) >= len(requests) })
	got := lines()
	if len(got) != len(requests) {
		t.Errorf("request log lines: got %d, want %d", len(got), len(requests))
	}
	for _, m := range got {
		id, _ := m["client_request_id"].(string)
		if own, _ := m["request_id"].(string); !strings.HasPrefix(own, "req_") {
			t.Errorf("request_id: got %q, want the gateway's own req_ id", own)
		}
		if !ids[id] {
			t.Errorf("client_request_id: got %q, want one of the sent ids once", id)
			continue
		}
		delete(ids, id)
		i, _ := strconv.Atoi(strings.TrimPrefix(id, "canary-req-"))
		r := requests[i]
		if m["deployment"] != r.deployment || m["status"] != float64(200) || m["attempts"] != float64(1) || m["route"] == "" {
			t.Errorf("%s: got route %v deployment %v status %v attempts %v, want deployment %s, 200, 1 attempt", id, m["route"], m["deployment"], m["status"], m["attempts"], r.deployment)
		}
		for _, k := range []string{"latency_ms", "input_tokens", "output_tokens"} {
			if v, _ := m[k].(float64); v <= 0 {
				t.Errorf("%s: %s got %v, want > 0", id, k, m[k])
			}
		}
		if v, _ := m["ttft_ms"].(float64); r.stream && v <= 0 {
			t.Errorf("%s: ttft_ms got %v, want > 0 for a stream", id, m["ttft_ms"])
		}
	}
	all := s.logs.String()
	for _, c := range []string{promptCanary, keyCanary} {
		if strings.Contains(all, c) {
			t.Errorf("logs contain canary %q:\n%s", c, all)
		}
	}
}

// keyedConfig requires a static key from the environment.
var keyedConfig = strings.Replace(baseConfig, "  listen: 127.0.0.1:0\n", "  listen: 127.0.0.1:0\n  api_keys: [\"${CORE_TEST_KEY}\"]\n", 1)

func TestStaticAPIKeys(t *testing.T) {
	const key = "sk-static-test-41ab"
	t.Setenv("CORE_TEST_KEY", key)
	s := startStack(t, fastSim(), keyedConfig)
	const oa, an = "/v1/chat/completions", "/v1/messages"
	const anBody = `{"model":"claude","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name, path, body string
		hdr              []string
		want             int
	}{
		{name: "openai no key", path: oa, body: chatBody, want: 401},
		{name: "openai wrong bearer", path: oa, body: chatBody, hdr: []string{"Authorization", "Bearer nope"}, want: 401},
		{name: "openai bearer", path: oa, body: chatBody, hdr: []string{"Authorization", "Bearer " + key}, want: 200},
		{name: "openai x-api-key", path: oa, body: chatBody, hdr: []string{"x-api-key", key}, want: 200},
		{name: "anthropic no key", path: an, body: anBody, want: 401},
		{name: "anthropic wrong x-api-key", path: an, body: anBody, hdr: []string{"x-api-key", key + "x"}, want: 401},
		{name: "anthropic x-api-key", path: an, body: anBody, hdr: []string{"x-api-key", key}, want: 200},
		{name: "anthropic bearer", path: an, body: anBody, hdr: []string{"Authorization", "Bearer " + key}, want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := s.post(tt.path, tt.body, tt.hdr...)
			if resp.StatusCode != tt.want {
				t.Fatalf("status: got %d, want %d; %s", resp.StatusCode, tt.want, b)
			}
			if tt.want != 401 {
				return
			}
			var e errShape
			_ = json.Unmarshal(b, &e)
			switch {
			case tt.path == an && (e.Type != "error" || e.Error.Type != "authentication_error"):
				t.Errorf("anthropic 401: got %s, want type error / authentication_error", b)
			case tt.path == oa && (e.Error.Code == nil || *e.Error.Code != "invalid_api_key" || e.Error.Type != "authentication_error"):
				t.Errorf("openai 401: got %s, want code invalid_api_key", b)
			}
			if strings.Contains(string(b), key) {
				t.Errorf("401 body leaks the key: %s", b)
			}
		})
	}
	if resp, _ := s.post("/v1/models", ""); resp.StatusCode != 405 {
		t.Errorf("POST /v1/models: got %d, want 405", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", s.base+"/v1/models", nil)
	if resp, err := s.hc.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("GET /v1/models without key: got %v %v, want 401", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	if strings.Contains(s.logs.String(), key) {
		t.Error("logs contain the client key")
	}
}

func TestOpenGatewayOnlyOnLoopback(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "switchyard.yaml")
	text := strings.NewReplacer("{{SIM}}", "http://127.0.0.1:1", "{{DIR}}", dir).Replace(baseConfig)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	err := Serve(context.Background(), Options{ConfigPath: path, Listen: "0.0.0.0:0", Logger: log,
		Started: func(string) { t.Error("served on 0.0.0.0 without an API key") }})
	if err == nil || !strings.Contains(err.Error(), "loopback") || !strings.Contains(err.Error(), "api_keys") {
		t.Errorf("Serve on 0.0.0.0 without keys: got %v, want a refusal naming loopback and api_keys", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Options{ConfigPath: path, Listen: "127.0.0.1:0", Logger: log, Started: func(u string) { started <- u }})
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("Serve on loopback: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve on loopback: got %v, want nil", err)
	}
}

func TestHotReloadThroughServer(t *testing.T) {
	s := startStack(t, fastSim(), "")
	text, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	const newRoute = `{"model":"reloaded","messages":[{"role":"user","content":"hi"}]}`
	if resp, _ := s.post("/v1/chat/completions", newRoute); resp.StatusCode != 404 {
		t.Fatalf("before reload: got %d, want 404", resp.StatusCode)
	}
	added := string(text) + "  - name: reloaded\n    targets: [small]\n"
	if err := os.WriteFile(s.cfg, []byte(added), 0o600); err != nil {
		t.Fatal(err)
	}
	clocktest.WaitFor(t, "the new route to serve", func() bool {
		resp, _ := s.post("/v1/chat/completions", newRoute)
		return resp.StatusCode == 200 && resp.Header.Get("X-Switchyard-Deployment") == "small"
	})
	okLoads := s.metric(`switchyard_config_loads_total{result="ok"}`)
	if okLoads < 2 {
		t.Errorf("config loads ok: got %v, want the start and the new route", okLoads)
	}
	if err := os.WriteFile(s.cfg, []byte(added+"  - name: broken\n    targets: [nowhere]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clocktest.WaitFor(t, "the reload to be rejected", func() bool {
		return strings.Contains(s.logs.String(), "config reload failed; keeping the running config")
	})
	for _, body := range []string{newRoute, chatBody} {
		if resp, b := s.post("/v1/chat/completions", body); resp.StatusCode != 200 {
			t.Errorf("after a bad reload: got %d, want 200 from the old config; %s", resp.StatusCode, b)
		}
	}
	if got := s.metric(`switchyard_config_loads_total{result="ok"}`); got != okLoads {
		t.Errorf("config loads ok after a bad file: got %v, want %v", got, okLoads)
	}
}

// TestReloadRightAfterStart edits the file as soon as Serve reports that it
// listens: the edit must not be lost.
func TestReloadRightAfterStart(t *testing.T) {
	s := startStack(t, fastSim(), "")
	text, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.cfg, append(text, "  - name: early\n    targets: [small]\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	clocktest.WaitFor(t, "the early route to serve", func() bool {
		resp, _ := s.post("/v1/chat/completions", `{"model":"early","messages":[{"role":"user","content":"hi"}]}`)
		return resp.StatusCode == 200
	})
}

// TestBadReloadCounted: the issue promises the error counter moves when a
// watched file is rejected, so alerts can fire on it.
func TestBadReloadCounted(t *testing.T) {
	s := startStack(t, fastSim(), "")
	if err := os.WriteFile(s.cfg, []byte("routes: ["), 0o600); err != nil {
		t.Fatal(err)
	}
	clocktest.WaitFor(t, "the error counter", func() bool { return s.metric(`switchyard_config_loads_total{result="error"}`) == 1 })
}

func TestGracefulShutdownFinishesStream(t *testing.T) {
	cfg := fastSim()
	for i := range cfg.Models {
		if cfg.Models[i].Name == "sim-small" {
			cfg.Models[i].TokensPerSecond = 50
			cfg.Models[i].OutputTokens = 100
		}
	}
	s := startStack(t, cfg, "")
	req, _ := http.NewRequest("POST", s.base+"/v1/chat/completions", strings.NewReader(`{"model":"small","stream":true,"max_tokens":200,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(first, "data: ") {
		t.Fatalf("first line: got %q, %v", first, err)
	}
	// Cancel Serve's context: what SIGTERM does.
	stopped := make(chan struct{})
	go func() { s.stop(); close(stopped) }()
	addr := strings.TrimPrefix(s.base, "http://")
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("new connections still accepted after shutdown began")
		}
		time.Sleep(2 * time.Millisecond)
	}
	select {
	case <-stopped:
		t.Fatal("Serve returned before the stream finished")
	default:
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("stream after shutdown began: %v", err)
	}
	text := first + string(rest)
	if !strings.Contains(text, "data: [DONE]") || !strings.Contains(text, `"finish_reason":"length"`) && !strings.Contains(text, `"finish_reason":"stop"`) {
		t.Errorf("stream did not complete:\n%s", text)
	}
	if n := strings.Count(text, `"content":`); n < 50 {
		t.Errorf("content chunks: got %d, want the whole answer (~100)", n)
	}
	<-stopped // s.stop reports a non-nil Serve error
}

func TestAnthropicClientFaults(t *testing.T) {
	t.Run("sdk stream error from anthropic deployment", func(t *testing.T) {
		s := startStack(t, withFaults(fastSim(), "sim-large", sim.Fault{Type: sim.FaultStreamError, After: 3}), "")
		c := s.anthropic()
		stream := c.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
			Model:     "claude",
			MaxTokens: 100,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))},
		})
		defer stream.Close()
		events := 0
		for stream.Next() {
			events++
		}
		if stream.Err() == nil {
			t.Fatalf("stream.Err(): got nil after %d events, want an error", events)
		}
		if events == 0 {
			t.Error("events: got 0, want the tokens before the fault")
		}
	})
	t.Run("cut on openai deployment is an anthropic error event", func(t *testing.T) {
		s := startStack(t, withFaults(fastSim(), "sim-medium", sim.Fault{Type: sim.FaultCut, After: 3}), "")
		resp, b := s.post("/v1/messages", `{"model":"medium","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hello"}]}`)
		text := string(b)
		if resp.StatusCode != 200 || !strings.Contains(text, "event: message_start") {
			t.Fatalf("got %d, want a started stream:\n%s", resp.StatusCode, text)
		}
		if !strings.Contains(text, "event: error") {
			t.Errorf("no event: error in:\n%s", text)
		}
		if strings.Contains(text, "message_stop") {
			t.Errorf("a cut stream ended with message_stop:\n%s", text)
		}
	})
}

// TestCrossDialectUsage: usage reported to a client of the other dialect is
// what the provider reported, stream or not.
func TestCrossDialectUsage(t *testing.T) {
	s := startStack(t, fastSim(), "")
	direct := func(path, body string) (in, out int64) {
		resp, err := s.hc.Post(s.simURL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		u := gjson.GetManyBytes(b, "usage.input_tokens", "usage.output_tokens", "usage.prompt_tokens", "usage.completion_tokens")
		return u[0].Int() + u[2].Int(), u[1].Int() + u[3].Int()
	}
	const prompt = "count the tokens of this sentence please"
	// OpenAI client → Anthropic deployment (sim-large).
	wantIn, wantOut := direct("/v1/messages", `{"model":"sim-large","max_tokens":40,"messages":[{"role":"user","content":"`+prompt+`"}]}`)
	if wantIn == 0 || wantOut == 0 {
		t.Fatalf("direct sim usage: got %d/%d, want non-zero", wantIn, wantOut)
	}
	oa := `{"model":"claude","max_tokens":40,"messages":[{"role":"user","content":"` + prompt + `"}]%s}`
	_, b := s.post("/v1/chat/completions", strings.Replace(oa, "%s", "", 1))
	u := gjson.GetManyBytes(b, "usage.prompt_tokens", "usage.completion_tokens", "usage.total_tokens")
	if u[0].Int() != wantIn || u[1].Int() != wantOut || u[2].Int() != wantIn+wantOut {
		t.Errorf("openai←anthropic usage: got %s, want prompt %d completion %d", gjson.GetBytes(b, "usage").Raw, wantIn, wantOut)
	}
	_, b = s.post("/v1/chat/completions", strings.Replace(oa, "%s", `,"stream":true,"stream_options":{"include_usage":true}`, 1))
	var last string
	for l := range strings.SplitSeq(string(b), "\n") {
		if strings.Contains(l, `"usage":{`) {
			last = strings.TrimPrefix(l, "data: ")
		}
	}
	if su := gjson.GetMany(last, "usage.prompt_tokens", "usage.completion_tokens"); su[0].Int() != wantIn || su[1].Int() != wantOut {
		t.Errorf("openai←anthropic stream usage: got %q, want prompt %d completion %d", last, wantIn, wantOut)
	}
	// Anthropic client → OpenAI deployment (sim-medium).
	wantIn, wantOut = direct("/v1/chat/completions", `{"model":"sim-medium","max_tokens":40,"messages":[{"role":"user","content":"`+prompt+`"}]}`)
	_, b = s.post("/v1/messages", `{"model":"medium","max_tokens":40,"messages":[{"role":"user","content":"`+prompt+`"}]}`)
	if u := gjson.GetManyBytes(b, "usage.input_tokens", "usage.output_tokens"); u[0].Int() != wantIn || u[1].Int() != wantOut {
		t.Errorf("anthropic←openai usage: got %s, want input %d output %d", gjson.GetBytes(b, "usage").Raw, wantIn, wantOut)
	}
	clocktest.WaitFor(t, "token metrics", func() bool {
		return s.metric(`switchyard_tokens_total{deployment="medium",direction="output",route="medium"}`) == float64(wantOut)
	})
}

// TestUnknownModelIsNoMetricLabel: a model string that names no route or
// deployment is the client's free text; it must not become a route label
// (every distinct string would be a new time series), and the request is
// still counted, under an empty route.
func TestUnknownModelIsNoMetricLabel(t *testing.T) {
	s := startStack(t, fastSim(), "")
	for i := range 3 {
		body := `{"model":"no-such-model-` + strconv.Itoa(i) + `","messages":[{"role":"user","content":"hi"}]}`
		if resp, b := s.post("/v1/chat/completions", body); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown model: got %d %s, want 404", resp.StatusCode, b)
		}
	}
	if resp, b := s.post("/v1/embeddings", `{"model":"no-such-embedder","input":"hi"}`); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown embedding model: got %d %s, want 404", resp.StatusCode, b)
	}
	_, text := s.get("/metrics")
	if strings.Contains(text, "no-such-") {
		t.Errorf("a client's model string became a metric label:\n%s", text)
	}
	if got := s.metric(`switchyard_requests_total{deployment="",route="",status="404"}`); got != 4 {
		t.Errorf("unknown-model requests counted: got %v, want 4", got)
	}
}

// TestTranslationRefusesWhatItCannotShape: an OpenAI client asking an
// Anthropic deployment for a stream of three choices or for logprobs gets
// a 400 saying so, not a 200 with one choice and no logprobs: no
// deployment of the request's route can carry it (routing.md); to an
// OpenAI deployment the same body passes through. (Three choices not
// streamed are three calls: TestChoicesFromOneAnswerAPIs.)
func TestTranslationRefusesWhatItCannotShape(t *testing.T) {
	s := startStack(t, fastSim(), "")
	for _, tt := range []struct{ extra, why string }{
		{`"n":3,"stream":true`, "n above 1 with stream"},
		{`"logprobs":true,"top_logprobs":2`, "logprobs"},
	} {
		body := `{"model":"%s","messages":[{"role":"user","content":"hi"}],` + tt.extra + `}`
		resp, b := s.post("/v1/chat/completions", strings.Replace(body, "%s", "claude", 1))
		var e struct {
			Error struct{ Code, Message, Type string } `json:"error"`
		}
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(b, &e) != nil || e.Error.Code != "no_capable_deployment" ||
			e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, tt.why) {
			t.Errorf("%s to claude: got %d %s, want 400 invalid_request_error no_capable_deployment naming %s", tt.extra, resp.StatusCode, b, tt.why)
		}
		if resp, b := s.post("/v1/chat/completions", strings.Replace(body, "%s", "medium", 1)); resp.StatusCode != http.StatusOK {
			t.Errorf("%s to medium: got %d %s, want 200", tt.extra, resp.StatusCode, b)
		}
	}
}

// TestUnknownEndpointsAnswerInTheAPIFormat: a wrong path or method gets an
// error body an SDK can parse (OpenAI's, or Anthropic's for an Anthropic
// client), with 404 or 405 and Allow, never net/http's plain text.
func TestUnknownEndpointsAnswerInTheAPIFormat(t *testing.T) {
	s := startStack(t, fastSim(), "")
	tests := []struct {
		method, path string
		anthropic    bool
		wantStatus   int
		wantAllow    string
		wantType     string // error.type in the body
	}{
		{"DELETE", "/v1/chat/completions", false, 405, "GET, HEAD, POST", "invalid_request_error"},
		{"PUT", "/v1/chat/completions/chatcmpl-1", false, 405, "GET, HEAD, POST, DELETE", "invalid_request_error"},
		{"DELETE", "/v1/models", false, 405, "GET, HEAD", "invalid_request_error"},
		{"GET", "/v1/messages", true, 405, "POST", "invalid_request_error"},
		{"POST", "/v1/audio/speech", false, 400, "", "invalid_request_error"}, // exists: no input
		{"GET", "/v1/audio/speech", false, 405, "POST", "invalid_request_error"},
		{"POST", "/v1/videos", false, 400, "", "invalid_request_error"}, // exists: no prompt
		{"PUT", "/v1/videos/video_1", false, 405, "GET, HEAD, DELETE", "invalid_request_error"},
		{"POST", "/v1/videos/extensions", false, 404, "", "not_found_error"},
		{"POST", "/v1/realtime", false, 405, "GET, HEAD", "invalid_request_error"},
		{"DELETE", "/v1/models/auto", false, 405, "GET, HEAD", "invalid_request_error"},
		{"PUT", "/v1/responses/resp_x", false, 405, "GET, HEAD, DELETE", "invalid_request_error"},
		{"PUT", "/v1/responses/compact", false, 405, "POST", "invalid_request_error"},
		{"GET", "/v1/responses/resp_x/cancel", false, 405, "POST", "invalid_request_error"},
		{"OPTIONS", "/v1/chat/completions", false, 405, "GET, HEAD, POST", "invalid_request_error"},
		{"TRACE", "/v1/models", false, 405, "GET, HEAD", "invalid_request_error"},
		{"DELETE", "/conversations/conv_1/items", false, 405, "GET, HEAD, POST", "invalid_request_error"},
		{"POST", "/v1/fine_tuning/jobs", false, 404, "", "not_found_error"},
		{"POST", "/v1//chat/completions", false, 404, "", "not_found_error"}, // not a redirect
		{"GET", "/v1/models/../models", false, 404, "", "not_found_error"},
		{"POST", "/v1/./messages", true, 404, "", "not_found_error"},
		{"GET", "/v1/completions", false, 405, "POST", "invalid_request_error"},
		{"GET", "/v1/responses", false, 405, "POST", "invalid_request_error"},
		{"POST", "/v1/messages/batches", true, 400, "", "invalid_request_error"}, // exists: a batch with no requests
		{"POST", "/v1/skills", true, 404, "", "not_found_error"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, s.base+tt.path, strings.NewReader(`{}`))
		if tt.anthropic {
			req.Header.Set("anthropic-version", "2023-06-01")
		}
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var body struct {
			Type  string `json:"type"`
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if resp.StatusCode != tt.wantStatus || resp.Header.Get("Allow") != tt.wantAllow {
			t.Errorf("%s %s: got %d Allow %q, want %d Allow %q", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Allow"), tt.wantStatus, tt.wantAllow)
		}
		if err := json.Unmarshal(b, &body); err != nil || body.Error.Type != tt.wantType || body.Error.Message == "" || tt.anthropic != (body.Type == "error") {
			t.Errorf("%s %s: got body %s (%v), want a JSON error of type %s in the %s format", tt.method, tt.path, b, err, tt.wantType, map[bool]string{true: "Anthropic", false: "OpenAI"}[tt.anthropic])
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: content type %q, want JSON", tt.method, tt.path, ct)
		}
	}
}

// TestShutdownPastDeadlineEndsStreamsWithAnError: streams still running
// when server.shutdown_timeout is up end with an in-band error in each
// API's format saying the gateway is shutting down (no success
// terminator), and are logged as partial with the error "shutdown", not
// as the client going away.
func TestShutdownPastDeadlineEndsStreamsWithAnError(t *testing.T) {
	cfg := fastSim()
	for i := range cfg.Models {
		if cfg.Models[i].Name == "sim-small" {
			cfg.Models[i].TokensPerSecond = 20
			cfg.Models[i].OutputTokens = 400
		}
	}
	gwCfg := strings.Replace(baseConfig, "  listen: 127.0.0.1:0\n", "  listen: 127.0.0.1:0\n  shutdown_timeout: 200ms\n", 1)
	s := startStack(t, cfg, gwCfg)
	open := func(path, body string) *bufio.Reader {
		req, _ := http.NewRequest("POST", s.base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("anthropic-version", "2023-06-01")
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		br := bufio.NewReader(resp.Body)
		if first, err := br.ReadString('\n'); err != nil || first == "" {
			t.Fatalf("%s: first line %q %v", path, first, err)
		}
		return br
	}
	streams := map[string]*bufio.Reader{
		"openai":    open("/v1/chat/completions", `{"model":"small","stream":true,"max_tokens":500,"messages":[{"role":"user","content":"hi"}]}`),
		"anthropic": open("/v1/messages", `{"model":"small","stream":true,"max_tokens":500,"messages":[{"role":"user","content":"hi"}]}`),
	}
	stopped := make(chan struct{})
	go func() { s.stop(); close(stopped) }()
	for name, br := range streams {
		rest, _ := io.ReadAll(br)
		text := string(rest)
		wantErr := `data: {"error":`
		success := "data: [DONE]"
		if name == "anthropic" {
			wantErr, success = "event: error", "event: message_stop"
		}
		if !strings.Contains(text, wantErr) || !strings.Contains(text, "the gateway is shutting down") || strings.Contains(text, success) {
			t.Errorf("%s: stream ended with %q, want an in-band error saying the gateway is shutting down and no %q", name, tail(text, 400), success)
		}
	}
	<-stopped
	var shutdown int
	for line := range strings.Lines(s.logs.String()) {
		if strings.Contains(line, `"msg":"request"`) && strings.Contains(line, `"error":"shutdown"`) && strings.Contains(line, `"partial":true`) {
			shutdown++
		}
	}
	if shutdown != 2 {
		t.Errorf("got %d request log lines with error shutdown, want 2:\n%s", shutdown, s.logs.String())
	}
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// TestFallbackAndBrokenStreamMetrics: a request answered by the second
// deployment because the first one's circuit is open counts as a fallback
// like one that tried the first; and a stream that breaks after its first
// token counts its attempt as failed, not ok.
func TestFallbackAndBrokenStreamMetrics(t *testing.T) {
	s := startStack(t, withFaults(fastSim(), "sim-medium", sim.Fault{Type: sim.FaultStatus, Status: 503}), "")
	for i := range 3 { // medium fails twice a request: its circuit opens (threshold 3) during the second
		if resp, b := s.post("/v1/chat/completions", chatBody); resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Deployment") != "claude" {
			t.Fatalf("request %d: got %d via %q; %s", i, resp.StatusCode, resp.Header.Get("X-Switchyard-Deployment"), b)
		}
	}
	skipped := `switchyard_upstream_attempts_total{deployment="medium",outcome="skipped_circuit_open",route="auto"}`
	clocktest.WaitFor(t, "request metrics", func() bool { return s.metric(skipped) >= 1 })
	if got := s.metric(`switchyard_fallbacks_total{route="auto"}`); got != 3 {
		t.Errorf("fallbacks: got %v, want 3 (the open circuit's too)", got)
	}

	c := startStack(t, withFaults(fastSim(), "sim-medium", sim.Fault{Type: sim.FaultCut, After: 3}), "")
	resp, text := c.stream(`{"model":"medium","stream":true,"messages":[{"role":"user","content":"hello"}]}`)
	if resp.StatusCode != 200 || strings.Contains(text, "data: [DONE]") {
		t.Fatalf("got %d %s, want a cut stream", resp.StatusCode, text)
	}
	failed := `switchyard_upstream_attempts_total{deployment="medium",outcome="unavailable",route="medium"}`
	clocktest.WaitFor(t, "the broken stream's attempt", func() bool { return c.metric(failed) == 1 })
	if got := c.metric(`switchyard_upstream_attempts_total{deployment="medium",outcome="ok",route="medium"}`); got != -1 {
		t.Errorf("broken stream also counted ok: %v", got)
	}
}

// TestShutdownPastDeadlineFailsRelayedRequests: an embeddings or
// moderations request still waiting on its upstream when
// server.shutdown_timeout is up gets a 503 saying the gateway is shutting
// down, logged with the error "shutdown" (it was an empty 200, logged as
// the client going away).
func TestShutdownPastDeadlineFailsRelayedRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // read nothing, answer nothing
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-accepted:
				c.Close()
			default:
				return
			}
		}
	})
	gwCfg := strings.Replace(baseConfig, "  listen: 127.0.0.1:0\n", "  listen: 127.0.0.1:0\n  shutdown_timeout: 200ms\n", 1)
	gwCfg = strings.Replace(gwCfg, "deployments:\n", `  - name: stuck
    kind: openai
    base_url: http://`+ln.Addr().String()+`/v1
deployments:
  - name: stuck-embed
    provider: stuck
    model: e
    capabilities: {chat: false, tools: false, streaming: false, embeddings: true}
`, 1)
	s := startStack(t, fastSim(), gwCfg)
	type answer struct {
		status int
		body   string
	}
	got := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.base+"/v1/embeddings", strings.NewReader(`{"model":"stuck-embed","input":"hi"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.hc.Do(req)
		if err != nil {
			got <- answer{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- answer{resp.StatusCode, string(b)}
	}()
	select {
	case c := <-accepted:
		accepted <- c // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the upstream")
	}
	stopped := make(chan struct{})
	go func() { s.stop(); close(stopped) }()
	a := <-got
	<-stopped
	if a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "the gateway is shutting down") {
		t.Errorf("got %d %q, want a 503 saying the gateway is shutting down", a.status, a.body)
	}
	if !strings.Contains(s.logs.String(), `"error":"shutdown"`) {
		t.Errorf("no request log line with the error shutdown:\n%s", s.logs.String())
	}
}
