package app

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/sim"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// TestStreamUsageEstimatedFlag checks the usage record of OpenAI streams
// that end in different ways: the provider's own usage chunk is billed as
// reported, and a stream that ends without one (finalised as complete after
// its finish_reason, or cut part-way) is billed from what was sent and
// flagged as estimated.
func TestStreamUsageEstimatedFlag(t *testing.T) {
	cfg := fastSim()
	// Faults apply in order, each to one request: the first stream misses
	// its usage chunk and [DONE], the second is cut, the third is whole.
	cfg = withFaults(cfg, "sim-small",
		sim.Fault{Type: sim.FaultMissingDone, Times: 1},
		sim.Fault{Type: sim.FaultCut, After: 3, Times: 1})
	outputTokens := 0
	for _, m := range cfg.Models {
		if m.Name == "sim-small" {
			outputTokens = m.OutputTokens
		}
	}
	extra := sqliteExtra(t, "")
	s := startTenantStack(t, startSim(t, cfg), extra)
	k := s.newKey("acme", admin.KeyCreate{})

	tests := []struct {
		id            string
		wantDone      bool // [DONE] reached the client
		wantPartial   bool
		wantEstimated bool
	}{
		{id: "usage-missing-done", wantDone: true, wantEstimated: true},
		{id: "usage-cut", wantPartial: true, wantEstimated: true},
		{id: "usage-complete", wantDone: true},
	}
	served := map[string]string{}      // the client's id to the gateway's
	clientUsage := map[string]string{} // the client's id to its usage chunk's counts
	for _, tt := range tests {
		body := `{"model":"small","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"tell me a story"}]}`
		req, _ := http.NewRequest("POST", s.base+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+k.Secret)
		req.Header.Set("X-Request-Id", tt.id)
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: got %d %s, want 200", tt.id, resp.StatusCode, text)
		}
		served[tt.id] = resp.Header.Get("X-Request-Id")
		for line := range strings.Lines(string(text)) {
			var chunk struct {
				Usage *struct {
					PromptTokens     int `json:"prompt_tokens"`
					CompletionTokens int `json:"completion_tokens"`
				} `json:"usage"`
			}
			data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
			if ok && json.Unmarshal([]byte(data), &chunk) == nil && chunk.Usage != nil {
				clientUsage[tt.id] = fmt.Sprintf("%d/%d", chunk.Usage.PromptTokens, chunk.Usage.CompletionTokens)
			}
		}
		if got := strings.Contains(string(text), "data: [DONE]"); got != tt.wantDone {
			t.Errorf("%s: [DONE] present: got %v, want %v\n%s", tt.id, got, tt.wantDone, text)
		}
	}

	byID := map[string]store.UsageRecord{}
	waitForT(t, "the usage records", func() bool {
		byID = s.exportUsage()
		return len(byID) >= len(tests)
	}, func() string { return fmt.Sprint(byID) + s.logs.String() })
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			r, ok := byID[served[tt.id]]
			if !ok {
				t.Fatalf("no usage record; got %d records", len(byID))
			}
			if r.TokensEstimated != tt.wantEstimated || r.Partial != tt.wantPartial {
				t.Errorf("got estimated %v partial %v, want %v %v", r.TokensEstimated, r.Partial, tt.wantEstimated, tt.wantPartial)
			}
			if r.InputTokens <= 0 || r.OutputTokens <= 0 || r.CostUSD <= 0 {
				t.Errorf("got %d input, %d output tokens, cost %v; want all > 0", r.InputTokens, r.OutputTokens, r.CostUSD)
			}
			// The usage chunk the client got is what was billed, also
			// when the gateway estimated it (never zeros).
			if want := fmt.Sprintf("%d/%d", r.InputTokens, r.OutputTokens); tt.wantDone && clientUsage[tt.id] != want {
				t.Errorf("client's usage chunk %q, want the billed %s", clientUsage[tt.id], want)
			}
			if !tt.wantEstimated && r.OutputTokens != outputTokens {
				t.Errorf("got %d output tokens, want the provider's %d", r.OutputTokens, outputTokens)
			}
		})
	}
}

// exportUsage reads every usage record through the admin export, by
// request id.
func (s *tenantStack) exportUsage() map[string]store.UsageRecord {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.admin+"/admin/usage/export?format=jsonl", nil)
	req.Header.Set("x-api-key", canaryAdmin)
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatalf("usage export: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		s.t.Fatalf("usage export: got %d %s, want 200", resp.StatusCode, b)
	}
	recs := map[string]store.UsageRecord{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var r store.UsageRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			s.t.Fatalf("usage export line %q: %v", sc.Text(), err)
		}
		recs[r.RequestID] = r
	}
	return recs
}

// TestStreamUsageCutInUsageChunk: an upstream that sends its finish_reason
// and is then cut inside its trailing usage chunk (no [DONE]) gives the
// client a finished answer, billed from what was sent and flagged
// estimated. The simulator cannot cut mid-frame, so a scripted upstream
// speaks the wire format here.
func TestStreamUsageCutInUsageChunk(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := func(delta, finish string) string {
			return `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":"sim-small","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + finish + `}],"usage":null}` + "\n\n"
		}
		io.WriteString(w, chunk(`{"role":"assistant","content":""}`, "null"))
		io.WriteString(w, chunk(`{"content":"once upon a time there was a gateway"}`, "null"))
		io.WriteString(w, chunk(`{}`, `"stop"`))
		io.WriteString(w, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tok`)
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // cut the connection mid-frame
	}))
	defer up.Close()
	s := startTenantStack(t, up.URL, sqliteExtra(t, ""))
	k := s.newKey("acme", admin.KeyCreate{})
	req, _ := http.NewRequest("POST", s.base+"/v1/chat/completions",
		strings.NewReader(`{"model":"small","stream":true,"messages":[{"role":"user","content":"tell me a story"}]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+k.Secret)
	req.Header.Set("X-Request-Id", "usage-cut-in-usage")
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(text), "data: [DONE]") {
		t.Errorf("got %d, want 200 ending in [DONE]:\n%s", resp.StatusCode, text)
	}
	var r store.UsageRecord
	waitForT(t, "the usage record", func() bool {
		var ok bool
		r, ok = s.exportUsage()[resp.Header.Get("X-Request-Id")]
		return ok
	}, func() string { return s.logs.String() })
	if !r.TokensEstimated || r.Partial || r.OutputTokens <= 0 || r.InputTokens <= 0 {
		t.Errorf("got estimated %v partial %v, %d input and %d output tokens; want estimated, not partial, tokens > 0",
			r.TokensEstimated, r.Partial, r.InputTokens, r.OutputTokens)
	}
}

// TestStreamUsageAnthropicCutIsEstimated: an Anthropic stream cut after its
// first token carries only message_start's placeholder output count (1);
// the record must say its tokens are estimated, not report 1 as measured.
func TestStreamUsageAnthropicCutIsEstimated(t *testing.T) {
	cfg := withFaults(fastSim(), "sim-large", sim.Fault{Type: sim.FaultCut, After: 1, Times: 1})
	s := startTenantStack(t, startSim(t, cfg), sqliteExtra(t, ""))
	k := s.newKey("acme", admin.KeyCreate{})
	body := `{"model":"claude","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	req, _ := http.NewRequest("POST", s.base+"/v1/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", k.Secret)
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("X-Request-Id", "anthropic-cut")
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(text), "event: message_stop") {
		t.Fatalf("got %d with message_stop=%v, want a 200 stream without message_stop:\n%s",
			resp.StatusCode, strings.Contains(string(text), "event: message_stop"), text)
	}
	var r store.UsageRecord
	waitForT(t, "the usage record", func() bool {
		var ok bool
		r, ok = s.exportUsage()[resp.Header.Get("X-Request-Id")]
		return ok
	}, func() string { return s.logs.String() })
	if !r.Partial || !r.TokensEstimated || r.OutputTokens < 1 {
		t.Errorf("got partial %v estimated %v output %d, want partial, estimated, output >= 1", r.Partial, r.TokensEstimated, r.OutputTokens)
	}
}

// TestRepeatedClientRequestIDKeepsEveryRecord: the usage ledger is keyed on
// the request id, so a client that sends the same X-Request-Id twice (a
// retrying SDK, a constant in someone's code) must still get one record per
// request, not have the second silently dropped as a replay.
func TestRepeatedClientRequestIDKeepsEveryRecord(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""))
	k := s.newKey("acme", admin.KeyCreate{})
	const n = 3
	served := map[string]bool{}
	for i := range n {
		req, _ := http.NewRequest("POST", s.base+"/v1/chat/completions",
			strings.NewReader(`{"model":"small","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+k.Secret)
		req.Header.Set("X-Request-Id", "same-every-time")
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: got %d %s, want 200", i+1, resp.StatusCode, text)
		}
		if got := resp.Header.Get("X-Client-Request-Id"); got != "same-every-time" {
			t.Errorf("request %d: X-Client-Request-Id %q, want the client's id echoed", i+1, got)
		}
		served[resp.Header.Get("X-Request-Id")] = true
	}
	if len(served) != n {
		t.Fatalf("X-Request-Id: got %d distinct ids for %d requests, want one each", len(served), n)
	}
	var byID map[string]store.UsageRecord
	waitForT(t, "a usage record per request", func() bool {
		byID = s.exportUsage()
		return len(byID) >= n
	}, func() string { return fmt.Sprint(byID) + s.logs.String() })
	for id := range served {
		if _, ok := byID[id]; !ok {
			t.Errorf("no usage record for request %s; got %v", id, byID)
		}
	}
}
