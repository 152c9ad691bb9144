package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

const chatBody = `{"model":"auto","messages":[{"role":"user","content":"hello there"}]}`
const streamBody = `{"model":"auto","stream":true,"messages":[{"role":"user","content":"hello there"}]}`

func calls(s *stack, model string) []sim.Call { return s.sim.Calls(model) }

// TestFaultsNonStreaming drives each upstream failure through the real
// server and checks what the provider saw and what the client got.
func TestFaultsNonStreaming(t *testing.T) {
	tests := []struct {
		name           string
		fault          sim.Fault
		wantStatus     int
		wantDeployment string
		wantMedium     int           // calls the failing deployment saw
		minGap         time.Duration // between its first two calls
		maxGap         time.Duration
		wantInBody     string
	}{
		{name: "503 once is retried on the same deployment", fault: sim.Fault{Type: sim.FaultStatus, Status: 503, Times: 1},
			wantStatus: 200, wantDeployment: "medium", wantMedium: 2, maxGap: time.Second},
		{name: "429 with Retry-After within the cap waits and retries", fault: sim.Fault{Type: sim.FaultStatus, Status: 429, RetryAfter: time.Second, Times: 1},
			wantStatus: 200, wantDeployment: "medium", wantMedium: 2, minGap: time.Second, maxGap: 3 * time.Second},
		{name: "429 with Retry-After over the cap fails over at once", fault: sim.Fault{Type: sim.FaultStatus, Status: 429, RetryAfter: 30 * time.Second, Times: 1},
			wantStatus: 200, wantDeployment: "claude", wantMedium: 1},
		{name: "reset before headers is retried", fault: sim.Fault{Type: sim.FaultReset, Times: 1},
			wantStatus: 200, wantDeployment: "medium", wantMedium: 2},
		{name: "silent provider is not retried on the same deployment", fault: sim.Fault{Type: sim.FaultHang},
			wantStatus: 200, wantDeployment: "claude", wantMedium: 1},
		{name: "context length goes to a fallback whose window fits", fault: sim.Fault{Type: sim.FaultContextLength},
			wantStatus: 200, wantDeployment: "claude", wantMedium: 1},
		{name: "content rejection is not retried and its reason reaches the client", fault: sim.Fault{Type: sim.FaultContentPolicy},
			wantStatus: 400, wantMedium: 1, wantInBody: "content"},
		{name: "persistent 500 fails over after one retry", fault: sim.Fault{Type: sim.FaultStatus, Status: 500},
			wantStatus: 200, wantDeployment: "claude", wantMedium: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startStack(t, withFaults(fastSim(), "sim-medium", tt.fault), "")
			resp, body := s.post("/v1/chat/completions", chatBody)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status: got %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("X-Switchyard-Deployment"); got != tt.wantDeployment {
				t.Errorf("deployment: got %q, want %q", got, tt.wantDeployment)
			}
			c := calls(s, "sim-medium")
			if len(c) != tt.wantMedium {
				t.Errorf("calls seen by sim-medium: got %d, want %d", len(c), tt.wantMedium)
			}
			if len(c) >= 2 {
				gap := c[1].Time.Sub(c[0].Time)
				if gap < tt.minGap || tt.maxGap > 0 && gap > tt.maxGap {
					t.Errorf("gap between attempts: got %v, want in [%v, %v]", gap, tt.minGap, tt.maxGap)
				}
			}
			if tt.wantInBody != "" && !strings.Contains(strings.ToLower(string(body)), tt.wantInBody) {
				t.Errorf("body: got %s, want it to contain %q", body, tt.wantInBody)
			}
			if tt.wantStatus == 200 {
				var out struct {
					Model   string `json:"model"`
					Choices []struct {
						Message struct{ Content string } `json:"message"`
					} `json:"choices"`
				}
				if err := json.Unmarshal(body, &out); err != nil || len(out.Choices) != 1 || out.Choices[0].Message.Content == "" {
					t.Errorf("body: got %s (%v)", body, err)
				}
			}
		})
	}
}

func withFaults(cfg sim.Config, model string, faults ...sim.Fault) sim.Config {
	for i := range cfg.Models {
		if cfg.Models[i].Name == model {
			cfg.Models[i].Faults = faults
		}
	}
	return cfg
}

// readSSE returns the raw SSE text of a streaming response.
func (s *stack) stream(body string) (*http.Response, string) {
	s.t.Helper()
	resp, b := s.post("/v1/chat/completions", body)
	return resp, string(b)
}

func TestFaultsStreaming(t *testing.T) {
	tests := []struct {
		name           string
		fault          sim.Fault
		wantDeployment string
		wantDone       bool // the success terminator reached the client
		wantError      bool // an in-band error event reached the client
	}{
		{name: "slow first token fails over before any byte", fault: sim.Fault{Type: sim.FaultSlowFirstToken, Delay: 5 * time.Second},
			wantDeployment: "claude", wantDone: true},
		{name: "error before the first token fails over", fault: sim.Fault{Type: sim.FaultStatus, Status: 503},
			wantDeployment: "claude", wantDone: true},
		{name: "stall mid-stream ends with an in-band error", fault: sim.Fault{Type: sim.FaultStall, After: 3},
			wantDeployment: "medium", wantError: true},
		{name: "cut mid-stream is never a success", fault: sim.Fault{Type: sim.FaultCut, After: 3},
			wantDeployment: "medium", wantError: true},
		{name: "malformed chunk is an in-band error", fault: sim.Fault{Type: sim.FaultMalformed, After: 3},
			wantDeployment: "medium", wantError: true},
		{name: "missing [DONE] after finish_reason is finalised", fault: sim.Fault{Type: sim.FaultMissingDone},
			wantDeployment: "medium", wantDone: true},
		{name: "error frame mid-stream is relayed in-band", fault: sim.Fault{Type: sim.FaultStreamError, After: 3},
			wantDeployment: "medium", wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startStack(t, withFaults(fastSim(), "sim-medium", tt.fault), "")
			resp, text := s.stream(streamBody)
			if resp.StatusCode != 200 {
				t.Fatalf("status: got %d, want 200; body %s", resp.StatusCode, text)
			}
			if got := resp.Header.Get("X-Switchyard-Deployment"); got != tt.wantDeployment {
				t.Errorf("deployment: got %q, want %q", got, tt.wantDeployment)
			}
			if got := strings.Contains(text, "data: [DONE]"); got != tt.wantDone {
				t.Errorf("[DONE] present: got %v, want %v\n%s", got, tt.wantDone, text)
			}
			if got := strings.Contains(text, `"error"`); got != tt.wantError {
				t.Errorf("in-band error present: got %v, want %v\n%s", got, tt.wantError, text)
			}
			if tt.wantDone && !strings.Contains(text, `"finish_reason":"stop"`) {
				t.Errorf("stream lacks finish_reason stop:\n%s", text)
			}
		})
	}
}

// TestStreamFirstTokenTimeoutEverywhereIs504: a streamed request whose
// only deployment never sends a first token gets a 504 error body, recorded
// as a timeout; not an empty 200 recorded as the client leaving.
func TestStreamFirstTokenTimeoutEverywhereIs504(t *testing.T) {
	s := startStack(t, withFaults(fastSim(), "sim-medium", sim.Fault{Type: sim.FaultSlowFirstToken, Delay: 5 * time.Second}), "")
	resp, text := s.stream(`{"model":"medium","stream":true,"messages":[{"role":"user","content":"hello"}]}`)
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(text, `"error"`) {
		t.Fatalf("got %d %q, want a 504 error body", resp.StatusCode, text)
	}
	clocktest.WaitFor(t, "the request log line", func() bool { return strings.Contains(s.logs.String(), `"status":504`) })
	if strings.Contains(s.logs.String(), "client_cancelled") {
		t.Errorf("logs: %s\nwant no client_cancelled", s.logs.String())
	}
}

// TestTruncatedStreamIsSDKError checks the promise end to end with the
// official SDK: a cut stream surfaces as an error, never as a clean end.
func TestTruncatedStreamIsSDKError(t *testing.T) {
	s := startStack(t, withFaults(fastSim(), "sim-medium", sim.Fault{Type: sim.FaultCut, After: 2}), "")
	c := s.openai()
	stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:    "medium",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
	})
	defer stream.Close()
	for stream.Next() {
	}
	if stream.Err() == nil {
		t.Fatal("stream.Err(): got nil, want an error for a truncated answer")
	}
}

func TestContextWindowSkipsSmallDeployment(t *testing.T) {
	s := startStack(t, fastSim(), "")
	long := strings.Repeat("lorem ipsum dolor sit amet ", 1500) // ~10k tokens: over small's 4096
	body := `{"model":"cheap","messages":[{"role":"user","content":"` + long + `"}]}`
	resp, b := s.post("/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("status: got %d; %s", resp.StatusCode, b)
	}
	if got := resp.Header.Get("X-Switchyard-Deployment"); got != "medium" {
		t.Errorf("deployment: got %q, want medium", got)
	}
	if n := len(calls(s, "sim-small")); n != 0 {
		t.Errorf("sim-small saw %d calls, want 0 (skipped before sending)", n)
	}
}

// TestCircuitBreakerRecovers: while sim-medium is down its traffic goes to
// the fallback without touching it, and it gets traffic back after it heals.
func TestCircuitBreakerRecovers(t *testing.T) {
	s := startStack(t, withFaults(fastSim(), "sim-medium", sim.Fault{Type: sim.FaultDown, For: 1500 * time.Millisecond}), "")
	// Open the circuit: threshold 3 consecutive failures.
	for i := 0; i < 3; i++ {
		resp, b := s.post("/v1/chat/completions", chatBody)
		if resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Deployment") != "claude" {
			t.Fatalf("request %d: status %d deployment %q; %s", i, resp.StatusCode, resp.Header.Get("X-Switchyard-Deployment"), b)
		}
	}
	before := len(calls(s, "sim-medium"))
	resp, _ := s.post("/v1/chat/completions", chatBody)
	if got := resp.Header.Get("X-Switchyard-Deployment"); got != "claude" {
		t.Errorf("while open: deployment %q, want claude", got)
	}
	if after := len(calls(s, "sim-medium")); after != before {
		t.Errorf("while open: sim-medium saw %d new calls, want 0", after-before)
	}
	// Recovery: within a few seconds medium answers again.
	clocktest.WaitFor(t, "medium to get traffic back", func() bool {
		resp, _ := s.post("/v1/chat/completions", chatBody)
		return resp.Header.Get("X-Switchyard-Deployment") == "medium"
	})
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	cfg := fastSim()
	for i := range cfg.Models {
		if cfg.Models[i].Name == "sim-medium" {
			cfg.Models[i].TokensPerSecond = 20
			cfg.Models[i].OutputTokens = 400
		}
	}
	s := startStack(t, cfg, "")
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", s.base+"/v1/chat/completions", strings.NewReader(streamBody))
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatalf("first bytes: %v", err)
	}
	cancel()
	resp.Body.Close()
	clocktest.WaitFor(t, "the request log line to record the cancellation", func() bool {
		return strings.Contains(s.logs.String(), `"error":"client_cancelled"`)
	})
	// The upstream call ends too: goleak in TestMain fails the package if
	// any goroutine of the stream is left behind.
}

// TestEmbeddingsHonourTimeouts: an embeddings deployment that never answers
// is cut off at its timeout and the next deployment of the route answers,
// as for chat; a route with nothing left fails with 504, not a request that
// hangs as long as the client waits.
func TestEmbeddingsHonourTimeouts(t *testing.T) {
	cfg := strings.NewReplacer(
		"    model: sim-embed\n", "    model: sim-embed\n    timeout: 300ms\n",
		"routes:\n", `  - name: embed-backup
    provider: sim-openai
    model: sim-embed-backup
    capabilities: {chat: false, tools: false, streaming: false, embeddings: true}
routes:
  - name: embeddings
    targets: [embed, embed-backup]
`).Replace(baseConfig)
	simCfg := withFaults(fastSim(), "sim-embed", sim.Fault{Type: sim.FaultHang})
	for _, m := range simCfg.Models {
		if m.Name == "sim-embed" {
			m.Name, m.Faults = "sim-embed-backup", nil
			simCfg.Models = append(simCfg.Models, m)
			break
		}
	}
	s := startStack(t, simCfg, cfg)
	resp, b := s.post("/v1/embeddings", `{"model":"embeddings","input":"hello"}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Switchyard-Deployment") != "embed-backup" {
		t.Fatalf("route: got %d via %q, want 200 via embed-backup; %s", resp.StatusCode, resp.Header.Get("X-Switchyard-Deployment"), b)
	}
	if got := resp.Header.Get("X-Switchyard-Attempts"); got != "2" {
		t.Errorf("attempts: got %s, want 2 (a timed-out deployment is not asked again)", got)
	}
	resp, b = s.post("/v1/embeddings", `{"model":"embed","input":"hello"}`)
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("single deployment: got %d %s, want 504", resp.StatusCode, b)
	}
}

// TestClientGoneBeforeAnswerIs499: a client that hangs up while the gateway
// waits for a non-streaming answer is logged and recorded as 499 (client
// closed request), not as a server error it never saw.
func TestClientGoneBeforeAnswerIs499(t *testing.T) {
	s := startStack(t, withFaults(fastSim(), "sim-small", sim.Fault{Type: sim.FaultHang}), "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.base+"/v1/chat/completions",
		strings.NewReader(`{"model":"small","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Content-Type", "application/json")
	done := make(chan error, 1)
	go func() {
		resp, err := s.hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	clocktest.WaitFor(t, "the upstream call", func() bool { return len(calls(s, "sim-small")) > 0 })
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the request finished; want it cancelled")
	}
	var line map[string]any
	clocktest.WaitFor(t, "the request log line", func() bool {
		for l := range strings.SplitSeq(s.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
				line = m
				return true
			}
		}
		return false
	})
	if line["status"] != float64(499) || line["error"] != "client_cancelled" || line["level"] != "INFO" {
		t.Errorf("request log: got status %v error %v level %v, want 499 client_cancelled at INFO", line["status"], line["error"], line["level"])
	}
}
