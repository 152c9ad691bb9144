package app

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

// Routing policies end to end: each policy of docs/routing.md through the
// real server, the real provider adapters and the simulated provider.

// routeSim is a simulator with no latency and one model per deployment of
// routeHead, so sim.Calls tells which deployment was called. tweak, if
// set, edits the models before the server starts.
func routeSim(tweak func(m *sim.Model)) sim.Config {
	var cfg sim.Config
	for _, n := range []string{"sim-mini", "sim-small", "sim-medium", "sim-large", "sim-vision", "sim-verbose", "sim-judge"} {
		m := sim.Model{Name: n, ContextWindow: 200000, OutputTokens: 16}
		if tweak != nil {
			tweak(&m)
		}
		cfg.Models = append(cfg.Models, m)
	}
	return cfg
}

// routeHead is the gateway config before its routes: deployments over the
// simulator (one sim model each) priced mini < small < medium < vision <
// large, and a "stub" provider ({{STUB}}) for answers the simulator never
// gives (refusals, judge scores, classifier labels).
const routeHead = `
server:
  listen: 127.0.0.1:0
` + storeConfig + `executor:
  max_attempts: 4
  retries_per_deployment: 0
  backoff_base: 1ms
  backoff_max: 5ms
  deadline: 20s
providers:
  - {name: sim, kind: openai, base_url: "{{SIM}}/v1"}
  - {name: stub, kind: openai, base_url: "{{STUB}}/v1"}
deployments:
  - {name: mini,    provider: sim, model: sim-mini,    price: {input_per_mtok: 0.05, output_per_mtok: 0.2}, context_window: 200000, quality: 0.4, capabilities: {tools: false}}
  - {name: small,   provider: sim, model: sim-small,   price: {input_per_mtok: 0.15, output_per_mtok: 0.6}, context_window: 8192,   quality: 0.55, capabilities: {json_mode: true}}
  - {name: medium,  provider: sim, model: sim-medium,  price: {input_per_mtok: 1.0,  output_per_mtok: 4.0}, context_window: 65536,  quality: 0.75, capabilities: {json_mode: true}}
  - {name: vision,  provider: sim, model: sim-vision,  price: {input_per_mtok: 2.5,  output_per_mtok: 10},  context_window: 128000, quality: 0.80, capabilities: {json_mode: true, vision: true}}
  - {name: large,   provider: sim, model: sim-large,   price: {input_per_mtok: 5.0,  output_per_mtok: 15},  context_window: 200000, quality: 0.92, capabilities: {json_mode: true, vision: true}}
  - {name: verbose, provider: sim, model: sim-verbose, price: {input_per_mtok: 0.01, output_per_mtok: 0.02}, context_window: 200000, capabilities: {json_mode: true}}
  - {name: judge,   provider: sim, model: sim-judge,   price: {input_per_mtok: 0.1,  output_per_mtok: 0.1},  context_window: 200000}
  - {name: refuser, provider: stub, model: stub-refuser, price: {input_per_mtok: 0.01, output_per_mtok: 0.01}, context_window: 200000}
  - {name: scorer,  provider: stub, model: stub-scorer,  context_window: 200000}
  - {name: labeler, provider: stub, model: stub-labeler, context_window: 200000}
routes:
`

// stub is a minimal OpenAI-compatible upstream whose answer text is chosen
// per request by answer(model, last user text).
type stub struct {
	srv    *httptest.Server
	mu     sync.Mutex
	calls  map[string]int
	answer func(model, user string) string
}

func startStub(t *testing.T, answer func(model, user string) string) *stub {
	t.Helper()
	s := &stub{calls: make(map[string]int), answer: answer}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role    string `json:"role"`
				Content any    `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		user := ""
		for _, m := range req.Messages {
			if s, ok := m.Content.(string); ok && m.Role == "user" {
				user = s
			}
		}
		s.mu.Lock()
		s.calls[req.Model]++
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-stub", "object": "chat.completion", "created": 1, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": s.answer(req.Model, user)}}},
			"usage": map[string]int{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
		})
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stub) count(model string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[model]
}

// startRouted starts the simulator, a stub upstream and the gateway with
// routeHead followed by routes.
func startRouted(t *testing.T, simCfg sim.Config, answer func(model, user string) string, routes string) (*stack, *stub) {
	t.Helper()
	if answer == nil {
		answer = func(string, string) string { return "stub answer" }
	}
	st := startStub(t, answer)
	cfg := strings.ReplaceAll(routeHead, "{{STUB}}", st.srv.URL) + routes
	return startStack(t, simCfg, cfg), st
}

// routeBody is an OpenAI chat request for model with one user message;
// extra is spliced into the JSON object (`"max_tokens":5,` ...).
func routeBody(model, prompt, extra string) string {
	p, _ := json.Marshal(prompt)
	return fmt.Sprintf(`{%s"model":%q,"messages":[{"role":"user","content":%s}]}`, extra, model, p)
}

// served sends a chat request that must succeed and returns its headers.
func (s *stack) served(body string, hdr ...string) http.Header {
	s.t.Helper()
	resp, b := s.post("/v1/chat/completions", body, hdr...)
	if resp.StatusCode != 200 {
		s.t.Fatalf("chat: got %d %s, want 200", resp.StatusCode, b)
	}
	return resp.Header
}

// callCount is the number of requests the simulator saw for model.
func (s *stack) callCount(model string) int { return len(s.sim.Calls(model)) }

// requestLog returns the request log line of the request with id.
func (s *stack) requestLog(id string) map[string]any {
	s.t.Helper()
	var found map[string]any
	clocktest.WaitFor(s.t, "request log line "+id, func() bool {
		for _, line := range strings.Split(s.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "request" && m["request_id"] == id {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// words is a prompt of n distinct-ish words.
func words(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "word%d ", i%97)
	}
	return b.String()
}

const imageBody = `{"model":%q,"messages":[{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}`

func TestRulesRoute(t *testing.T) {
	s, _ := startRouted(t, routeSim(nil), nil, `
  - name: chat
    policy: rules
    rules:
      - {name: vision, when: 'images', target: vision}
      - {name: coding, when: 'task == "coding"', target: large}
      - {name: qa, when: 'task == "qa"', target: small}
      - {name: short, when: 'input_tokens < 100', target: mini}
      - {name: mid, when: 'input_tokens < 2000', target: medium}
    default: large
`)
	tests := []struct {
		name   string
		body   string
		hdr    []string
		want   string // deployment
		reason string
	}{
		{name: "short prompt", body: routeBody("chat", "hello there", ""), want: "mini", reason: "chat: short matched -> mini"},
		{name: "task header", body: routeBody("chat", "hello there", ""), hdr: []string{"X-Switchyard-Task", "coding"}, want: "large", reason: "chat: coding matched -> large"},
		{name: "task metadata", body: routeBody("chat", "hello there", `"metadata":{"task":"qa"},`), want: "small", reason: "chat: qa matched -> small"},
		{name: "header wins over metadata", body: routeBody("chat", "hello there", `"metadata":{"task":"qa"},`), hdr: []string{"X-Switchyard-Task", "coding"}, want: "large", reason: "coding matched"},
		{name: "mid band", body: routeBody("chat", words(400), ""), want: "medium", reason: "chat: mid matched -> medium"},
		{name: "nothing matches", body: routeBody("chat", words(3000), ""), want: "large", reason: "chat: no rule matched -> default large"},
		{name: "image", body: fmt.Sprintf(imageBody, "chat"), want: "vision", reason: "chat: vision matched -> vision"},
		{name: "unknown task falls through", body: routeBody("chat", "hello there", ""), hdr: []string{"X-Switchyard-Task", "poetry"}, want: "mini", reason: "short matched"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.callCount("sim-" + tc.want)
			h := s.served(tc.body, tc.hdr...)
			if got := h.Get("X-Switchyard-Deployment"); got != tc.want {
				t.Errorf("deployment: got %q, want %q (reason %q)", got, tc.want, h.Get("X-Switchyard-Reason"))
			}
			if got := h.Get("X-Switchyard-Reason"); !strings.Contains(got, tc.reason) {
				t.Errorf("reason: got %q, want it to contain %q", got, tc.reason)
			}
			if got := h.Get("X-Switchyard-Policy"); got != "rules" {
				t.Errorf("policy: got %q, want rules", got)
			}
			if got := s.callCount("sim-"+tc.want) - before; got != 1 {
				t.Errorf("sim-%s calls: got %d, want 1", tc.want, got)
			}
		})
	}
}

func TestCheapestRoute(t *testing.T) {
	s, _ := startRouted(t, withFaults(routeSim(nil), "sim-mini", sim.Fault{Type: sim.FaultStatus, Status: 503}), nil, `
  - {name: cheap, policy: cheapest, targets: [small, medium, vision, large]}
  - {name: cheap-all, policy: cheapest, targets: [large, vision, medium, small, mini]}
  - {name: good-enough, policy: cheapest, targets: [small, medium, vision, large], min_quality: 0.7}
`)
	tests := []struct {
		name    string
		body    string
		want    string
		skipped string // in the reason
		never   string // sim model that must not be called
	}{
		{name: "cheapest capable", body: routeBody("cheap", "hello", ""), want: "small"},
		{name: "context window", body: routeBody("cheap", "hello", `"max_tokens":9000,`), want: "medium", skipped: "small: context window", never: "sim-small"},
		{name: "vision", body: fmt.Sprintf(imageBody, "cheap"), want: "vision", skipped: "medium: no vision", never: "sim-medium"},
		{name: "quality floor", body: routeBody("good-enough", "hello", ""), want: "medium", skipped: "small: quality 0.55", never: "sim-small"},
		{name: "tools", body: `{"model":"cheap-all","messages":[{"role":"user","content":"weather?"}],"tools":[{"type":"function","function":{"name":"w","parameters":{"type":"object"}}}]}`, want: "small", skipped: "mini: no tools", never: "sim-mini"},
		{name: "json mode", body: routeBody("cheap-all", "hello", `"response_format":{"type":"json_object"},`), want: "small", skipped: "mini: no json_mode", never: "sim-mini"},
		// mini answers 503: the next cheapest answers.
		{name: "fallback is next cheapest", body: routeBody("cheap-all", "hello", ""), want: "small"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			neverBefore := 0
			if tc.never != "" {
				neverBefore = s.callCount(tc.never)
			}
			h := s.served(tc.body)
			if got := h.Get("X-Switchyard-Deployment"); got != tc.want {
				t.Errorf("deployment: got %q, want %q (reason %q)", got, tc.want, h.Get("X-Switchyard-Reason"))
			}
			if !strings.Contains(h.Get("X-Switchyard-Reason"), "cheapest capable") {
				t.Errorf("reason: got %q, want cheapest capable ...", h.Get("X-Switchyard-Reason"))
			}
			if tc.skipped != "" && !strings.Contains(h.Get("X-Switchyard-Reason"), tc.skipped) {
				t.Errorf("reason: got %q, want it to contain %q", h.Get("X-Switchyard-Reason"), tc.skipped)
			}
			if tc.never != "" {
				if got := s.callCount(tc.never) - neverBefore; got != 0 {
					t.Errorf("%s calls: got %d, want 0", tc.never, got)
				}
			}
		})
	}
	// The fallback order is cheapest next: mini (503), then small.
	resp, b := s.post("/v1/route/explain", routeBody("cheap-all", "hello", ""))
	var ex struct{ Deployments []string }
	if err := json.Unmarshal(b, &ex); err != nil || resp.StatusCode != 200 {
		t.Fatalf("explain: got %d %s", resp.StatusCode, b)
	}
	if got, want := strings.Join(ex.Deployments, ","), "mini,small,medium,vision,large"; got != want {
		t.Errorf("plan: got %s, want %s", got, want)
	}
	if got := s.callCount("sim-mini"); got < 1 {
		t.Errorf("sim-mini calls: got %d, want at least 1 (the failing cheapest was tried)", got)
	}
}

func TestFastestRoute(t *testing.T) {
	s, _ := startRouted(t, routeSim(func(m *sim.Model) {
		if m.Name == "sim-small" {
			m.FirstToken = 150 * time.Millisecond
		}
	}), nil, `
  - {name: quick, policy: fastest, targets: [small, medium], fastest: {explore: 0}}
`)
	// Unmeasured: config order.
	if got := s.served(routeBody("quick", "hi", "")).Get("X-Switchyard-Deployment"); got != "small" {
		t.Fatalf("first pick: got %q, want small (config order while unmeasured)", got)
	}
	// Traffic to both deployments by name lets the executor measure them.
	for range 3 {
		s.served(routeBody("small", "warm", ""))
		s.served(routeBody("medium", "warm", ""))
	}
	clocktest.WaitFor(t, "fastest to prefer medium", func() bool {
		return s.served(routeBody("quick", "hi", "")).Get("X-Switchyard-Deployment") == "medium"
	})
	before := s.callCount("sim-small")
	for i := range 10 {
		h := s.served(routeBody("quick", "hi", ""))
		if got := h.Get("X-Switchyard-Deployment"); got != "medium" {
			t.Fatalf("request %d: got %q, want medium (reason %q)", i, got, h.Get("X-Switchyard-Reason"))
		}
		if !strings.Contains(h.Get("X-Switchyard-Reason"), "quick: fastest medium") {
			t.Errorf("reason: got %q, want quick: fastest medium", h.Get("X-Switchyard-Reason"))
		}
	}
	if got := s.callCount("sim-small") - before; got != 0 {
		t.Errorf("sim-small calls after medium was preferred: got %d, want 0", got)
	}
}

func TestWeightedRoute(t *testing.T) {
	s, _ := startRouted(t, routeSim(nil), nil, `
  - name: ab
    policy: weighted
    sticky: user
    arms:
      - {name: control, target: medium, weight: 70}
      - {name: candidate, target: small, weight: 30}
`)
	armOf := map[string]string{"control": "medium", "candidate": "small"}
	// Sticky: the same user lands on the same arm every time, by header or metadata.
	for _, user := range []string{"alice", "bob", "carol", "dave"} {
		first := ""
		for i := range 4 {
			var h http.Header
			if i%2 == 0 {
				h = s.served(routeBody("ab", "hi", ""), "X-Switchyard-User", user)
			} else {
				h = s.served(routeBody("ab", "hi", fmt.Sprintf(`"metadata":{"user_id":%q},`, user)))
			}
			arm := h.Get("X-Switchyard-Arm")
			if first == "" {
				first = arm
			}
			if arm != first {
				t.Errorf("user %s request %d: got arm %q, want %q (sticky)", user, i, arm, first)
			}
			if got := h.Get("X-Switchyard-Deployment"); got != armOf[arm] {
				t.Errorf("arm %q served by %q, want %q", arm, got, armOf[arm])
			}
		}
	}
	// The split over many users is close to the weights. The hash is
	// deterministic, so this is not flaky; the tolerance (±0.07, about 3
	// standard deviations of a fair 30% coin over 400 users) only says the
	// hash is reasonably uniform.
	const users = 400
	n := 0
	for i := range users {
		if s.served(routeBody("ab", "hi", ""), "X-Switchyard-User", fmt.Sprintf("user-%d", i)).Get("X-Switchyard-Arm") == "candidate" {
			n++
		}
	}
	if share := float64(n) / users; math.Abs(share-0.3) > 0.07 {
		t.Errorf("candidate share: got %.3f (%d/%d), want 0.30 ± 0.07", share, n, users)
	}
}

// cascadeRoutes covers every kind of check. In cascadeSim sim-small
// answers 3 words, sim-medium and sim-large 30 and sim-verbose 60; sim-mini
// hangs (a judge that times out); sim-judge answers words, never a score.
const cascadeRoutes = `
  - {name: c-len, policy: cascade, targets: [small, medium, large], checks: [{min_length: 60}]}
  - {name: c-regex, policy: cascade, targets: [small, medium, large], checks: [{regex: '^(\S+\s+){9}\S+'}]}
  - {name: c-json, policy: cascade, targets: [verbose, small, large], checks: [{json: true}]}
  - {name: c-schema, policy: cascade, targets: [small, medium], checks: [{schema: true}]}
  - {name: c-refusal, policy: cascade, targets: [refuser, small], checks: [{no_refusal: true}]}
  - {name: c-judge, policy: cascade, targets: [small, medium], checks: [{judge: {deployment: scorer, min_score: 7}}]}
  - {name: c-judge-sim, policy: cascade, targets: [small, medium], checks: [{judge: {deployment: judge, min_score: 7}}]}
  - {name: c-judge-slow, policy: cascade, targets: [small, medium], checks: [{judge: {deployment: mini, timeout: 200ms}}]}
`

func cascadeSim() sim.Config {
	return routeSim(func(m *sim.Model) {
		switch m.Name {
		case "sim-small":
			m.OutputTokens = 3
		case "sim-medium", "sim-large":
			m.OutputTokens = 30
		case "sim-verbose":
			m.OutputTokens = 60
		case "sim-mini":
			m.Faults = []sim.Fault{{Type: sim.FaultHang}}
		}
	})
}

// scoreAnswer is the stub: a refusal for stub-refuser; for the judge 8 when
// the question says "good", else 3.
func scoreAnswer(model, user string) string {
	switch {
	case model == "stub-refuser":
		return "I'm sorry, but I can't help with that."
	case strings.Contains(user, "good"):
		return "8"
	}
	return "Score: 3/10"
}

const (
	arraySchema  = `"response_format":{"type":"json_schema","json_schema":{"name":"list","schema":{"type":"array","items":{"type":"string"}}}},`
	objectSchema = `"response_format":{"type":"json_schema","json_schema":{"name":"obj","schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}},`
)

func TestCascadeChecks(t *testing.T) {
	s, st := startRouted(t, cascadeSim(), scoreAnswer, cascadeRoutes)
	tests := []struct {
		name   string
		body   string
		want   string   // deployment that answered
		calls  []string // sim models called once each, in order of stages
		never  string   // sim model never called
		reason string
	}{
		{name: "min_length escalates once", body: routeBody("c-len", "tell me", ""), want: "medium", never: "sim-large",
			reason: "small escalated: answer has"},
		{name: "regex escalates once", body: routeBody("c-regex", "tell me", ""), want: "medium", never: "sim-large",
			reason: "small escalated: answer does not match the regex"},
		{name: "json: truncated answer escalates", body: routeBody("c-json", "give json", `"max_tokens":20,"response_format":{"type":"json_object"},`), want: "small", never: "sim-large",
			reason: "verbose escalated: answer is not valid JSON"},
		{name: "json: not JSON at all reaches the last stage", body: routeBody("c-json", "prose please", ""), want: "large",
			reason: "small escalated: answer is not valid JSON"}, // the last stage is not checked: its answer is returned anyway
		{name: "schema passes first stage", body: routeBody("c-schema", "a city", objectSchema), want: "small", never: "sim-medium"},
		{name: "schema mismatch escalates", body: routeBody("c-schema", "a list", arraySchema), want: "medium",
			reason: "small escalated: answer does not match the schema"},
		{name: "refusal escalates", body: routeBody("c-refusal", "do it", ""), want: "small", reason: "refuser escalated: answer is a refusal"},
		{name: "judge passes", body: routeBody("c-judge", "a good question", ""), want: "small", never: "sim-medium"},
		{name: "judge low score escalates", body: routeBody("c-judge", "a plain question", ""), want: "medium",
			reason: "small escalated: judge score 3 below 7"},
		{name: "sim judge gives no score", body: routeBody("c-judge-sim", "anything", ""), want: "medium",
			reason: "small escalated: judge gave no score"},
		{name: "judge timeout escalates", body: routeBody("c-judge-slow", "anything", ""), want: "medium",
			reason: "small escalated: judge timed out"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			neverBefore := 0
			if tc.never != "" {
				neverBefore = s.callCount(tc.never)
			}
			start := time.Now()
			h := s.served(tc.body)
			if got := h.Get("X-Switchyard-Deployment"); got != tc.want {
				t.Errorf("deployment: got %q, want %q (reason %q)", got, tc.want, h.Get("X-Switchyard-Reason"))
			}
			if got := h.Get("X-Switchyard-Policy"); got != "cascade" {
				t.Errorf("policy: got %q, want cascade", got)
			}
			reason := h.Get("X-Switchyard-Reason")
			if tc.reason != "" && !strings.Contains(reason, tc.reason) {
				t.Errorf("reason: got %q, want it to contain %q", reason, tc.reason)
			}
			if tc.reason == "" && strings.Contains(reason, "escalated") {
				t.Errorf("reason: got %q, want no escalation", reason)
			}
			if tc.never != "" {
				if got := s.callCount(tc.never) - neverBefore; got != 0 {
					t.Errorf("%s calls: got %d, want 0 (an earlier stage passed)", tc.never, got)
				}
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v, want well under the 10s judge default (timeout 200ms)", d)
			}
		})
	}
	if got := st.count("stub-scorer"); got < 2 {
		t.Errorf("judge calls: got %d, want at least 2", got)
	}
}

func TestCascadeAnswerAndCost(t *testing.T) {
	s, _ := startRouted(t, cascadeSim(), nil, cascadeRoutes)
	const prompt = "explain signals"
	// The answer is medium's (the first that passes), and the record holds
	// both stages: small's 3 output tokens and medium's 30.
	resp, b := s.post("/v1/chat/completions", routeBody("c-len", prompt, ""))
	if resp.StatusCode != 200 {
		t.Fatalf("got %d %s", resp.StatusCode, b)
	}
	var out struct {
		Model   string
		Choices []struct{ Message struct{ Content string } }
		Usage   struct{ PromptTokens, CompletionTokens int } `json:"usage"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.Choices) != 1 {
		t.Fatalf("decode: %v %s", err, b)
	}
	var direct struct {
		Choices []struct{ Message struct{ Content string } }
		Usage   struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	_, db := s.post("/v1/chat/completions", routeBody("medium", prompt, ""))
	if err := json.Unmarshal(db, &direct); err != nil || len(direct.Choices) != 1 {
		t.Fatalf("decode direct: %v %s", err, db)
	}
	want := direct.Choices[0].Message.Content
	if got := out.Choices[0].Message.Content; got != want {
		t.Errorf("answer: got %q, want medium's %q", got, want)
	}
	line := s.requestLog(resp.Header.Get("X-Request-Id"))
	in := direct.Usage.PromptTokens
	if got, want := line["input_tokens"], float64(2*in); got != want {
		t.Errorf("input_tokens: got %v, want %v (both stages)", got, want)
	}
	if got, want := line["output_tokens"], float64(3+direct.Usage.CompletionTokens); got != want {
		t.Errorf("output_tokens: got %v, want %v (both stages)", got, want)
	}
	wantCost := (float64(in)*0.15+3*0.6)/1e6 + (float64(in)*1.0+float64(direct.Usage.CompletionTokens)*4.0)/1e6
	if got, _ := line["cost_usd"].(float64); math.Abs(got-wantCost) > 1e-12 {
		t.Errorf("cost_usd: got %v, want %v (small + medium)", got, wantCost)
	}
	if got := line["reason"]; !strings.Contains(fmt.Sprint(got), "small escalated") {
		t.Errorf("log reason: got %q, want small escalated ...", got)
	}

	// A streaming client gets the passing answer replayed as a stream; the
	// stages themselves are called non-streaming.
	calls := len(s.sim.Calls("sim-small")) + len(s.sim.Calls("sim-medium"))
	c := s.openai()
	var hr *http.Response
	stream := c.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:         "c-len",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}, option.WithResponseInto(&hr))
	defer stream.Close()
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != want {
		t.Fatalf("streamed answer: got %+v, want %q", acc.Choices, want)
	}
	if acc.Choices[0].FinishReason != "stop" {
		t.Errorf("finish_reason: got %q, want stop", acc.Choices[0].FinishReason)
	}
	if acc.Usage.CompletionTokens != int64(direct.Usage.CompletionTokens) {
		t.Errorf("streamed usage: got %d completion tokens, want %d", acc.Usage.CompletionTokens, direct.Usage.CompletionTokens)
	}
	if got := hr.Header.Get("X-Switchyard-Reason"); !strings.Contains(got, "small escalated") {
		t.Errorf("stream reason: got %q, want small escalated ...", got)
	}
	if got := len(s.sim.Calls("sim-small")) + len(s.sim.Calls("sim-medium")) - calls; got != 2 {
		t.Errorf("stage calls for the stream: got %d, want 2", got)
	}
	for _, m := range []string{"sim-small", "sim-medium"} {
		for _, call := range s.sim.Calls(m) {
			if call.Stream {
				t.Errorf("%s got a streaming call, want stages called non-streaming", m)
			}
		}
	}
}

// TestCascadeLastStageFails: when the last stage fails, the client gets the
// last answer a stage gave (it failed its check, but it is an answer), not
// a 503 for a request that has one; it is billed once, as the answer.
func TestCascadeLastStageFails(t *testing.T) {
	simCfg := routeSim(func(m *sim.Model) {
		switch m.Name {
		case "sim-small":
			m.OutputTokens = 3
		case "sim-large":
			m.Faults = []sim.Fault{{Type: sim.FaultStatus, Status: 503}}
		}
	})
	s, _ := startRouted(t, simCfg, nil, "  - {name: c-lastfail, policy: cascade, targets: [small, large], checks: [{min_length: 100000}]}\n")
	resp, b := s.post("/v1/chat/completions", routeBody("c-lastfail", "tell me", ""))
	if resp.StatusCode != 200 {
		t.Fatalf("got %d %s, want small's answer", resp.StatusCode, b)
	}
	if got := resp.Header.Get("X-Switchyard-Deployment"); got != "small" {
		t.Errorf("deployment %q, want small", got)
	}
	if got := resp.Header.Get("X-Switchyard-Reason"); !strings.Contains(got, "large: unavailable") || !strings.Contains(got, "answered by small") {
		t.Errorf("reason %q, want the last stage's failure and who answered", got)
	}
	line := s.requestLog(resp.Header.Get("X-Request-Id"))
	if got := line["output_tokens"]; got != float64(3) {
		t.Errorf("output_tokens %v, want small's 3, counted once", got)
	}
}
