package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/learned"
)

// The learned policy, classify, per-tier routes, route explain and the demo
// config end to end (routing_e2e_test.go has the other policies).

// learnedRefs are the reference models of routers/default.json the cheap
// and expensive deployments stand for.
const (
	refCheap     = "gpt-3.5-turbo-1106"
	refExpensive = "gpt-4-1106-preview"
)

// learnedQualities are the quality targets of the learned routes, ascending.
var learnedQualities = []int{50, 60, 70, 80, 90, 99}

// learnedRoutes is one learned route "smart-N" per quality target N%.
func learnedRoutes(t *testing.T) string {
	t.Helper()
	file, err := filepath.Abs("../../routers/default.json")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, q := range learnedQualities {
		fmt.Fprintf(&b, "  - name: smart-%d\n    policy: learned\n    targets: [large, small]\n    learned:\n      router_file: %q\n      quality: %g\n      ref_models: {small: %s, large: %s}\n",
			q, file, float64(q)/100, refCheap, refExpensive)
	}
	return b.String()
}

// learnedPrompts are a fixed prompt set of varied difficulty.
var learnedPrompts = []string{
	"hi", "What is 2+2?", "Say hello", "Translate 'cat' to French.", "What is the capital of France?",
	"Write a haiku about autumn.", "List three colors.", "Write a Python function to reverse a string.",
	"Prove that there are infinitely many primes, then generalize the argument to primes congruent to 3 mod 4.",
	"Implement a lock-free concurrent hash map in C++ with resizing, and explain the memory ordering of every atomic operation.",
	"Solve the differential equation y'' + 4y' + 4y = e^{-2x} sin x and verify the solution.",
	"Derive the closed form of the sum of k^3 for k from 1 to n and prove it by induction.",
	"Explain the difference between TCP and UDP in detail, with examples of protocols built on each and their failure modes.",
	"A train leaves at 3pm at 60 mph, another at 4pm at 80 mph from the same station. When does the second catch up? Show your reasoning step by step.",
	"Design a distributed consensus protocol tolerant to Byzantine faults and prove its safety and liveness properties.",
}

// explain asks POST /v1/route/explain and decodes the plan.
func (s *stack) explain(body string, hdr ...string) (int, explanation) {
	s.t.Helper()
	resp, b := s.post("/v1/route/explain", body, hdr...)
	var ex explanation
	if err := json.Unmarshal(b, &ex); err != nil {
		s.t.Fatalf("explain: %v in %s", err, b)
	}
	return resp.StatusCode, ex
}

type explanation struct {
	Route, Policy, Reason, Arm string
	Deployments                []string
	Skipped                    []string
	Cascade                    *struct{ Stages, Checks []string }
	Features                   *struct {
		InputTokens int    `json:"input_tokens"`
		Task        string `json:"task"`
	}
	Error *struct{ Code string }
}

func TestLearnedRoute(t *testing.T) {
	lr, err := learned.Load("../../routers/default.json")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := startRouted(t, routeSim(nil), nil, learnedRoutes(t))
	// Probe the router: at quality 0.7 an easy prompt is one the cheap
	// model is predicted to reach with a margin; a hard one is one it
	// misses by a margin while the expensive model is predicted better.
	var easy, hard []string
	for _, p := range learnedPrompts {
		qc, ok1 := lr.QualityFor(p, refCheap)
		qe, ok2 := lr.QualityFor(p, refExpensive)
		if !ok1 || !ok2 {
			t.Fatalf("reference models %s, %s missing from routers/default.json", refCheap, refExpensive)
		}
		switch {
		case qc >= 0.72:
			easy = append(easy, p)
		case qc < 0.68 && qe > qc:
			hard = append(hard, p)
		}
	}
	if len(easy) == 0 || len(hard) == 0 {
		t.Fatalf("probe: got %d easy and %d hard prompts at quality 0.7, want some of each", len(easy), len(hard))
	}
	for _, tc := range []struct {
		name    string
		prompts []string
		want    string
	}{{"easy", easy, "small"}, {"hard", hard, "large"}} {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range tc.prompts[:min(3, len(tc.prompts))] {
				h := s.served(routeBody("smart-70", p, ""))
				if got := h.Get("X-Switchyard-Deployment"); got != tc.want {
					t.Errorf("%.30q: got %q, want %q (reason %q)", p, got, tc.want, h.Get("X-Switchyard-Reason"))
				}
				if got := h.Get("X-Switchyard-Policy"); got != "learned" {
					t.Errorf("policy: got %q, want learned", got)
				}
			}
		})
	}

	// Raising the quality target moves the share of expensive picks up,
	// monotonically, over the fixed prompt set; explain calls no model.
	calls := s.callCount("sim-small") + s.callCount("sim-large")
	prev := -1
	shares := make([]int, 0, len(learnedQualities))
	for _, q := range learnedQualities {
		n := 0
		for _, p := range learnedPrompts {
			code, ex := s.explain(routeBody(fmt.Sprintf("smart-%d", q), p, ""))
			if code != 200 || len(ex.Deployments) != 2 {
				t.Fatalf("explain smart-%d: got %d %+v", q, code, ex)
			}
			if ex.Deployments[0] == "large" {
				n++
			}
		}
		if n < prev {
			t.Errorf("expensive picks at quality %d%%: got %d, want at least %d (at the lower target)", q, n, prev)
		}
		prev = n
		shares = append(shares, n)
	}
	if first, last := shares[0], shares[len(shares)-1]; last <= first {
		t.Errorf("expensive picks from quality %d%% to %d%%: got %d -> %d, want an increase", learnedQualities[0], learnedQualities[len(learnedQualities)-1], first, last)
	}
	if got := s.callCount("sim-small") + s.callCount("sim-large") - calls; got != 0 {
		t.Errorf("model calls during explain: got %d, want 0", got)
	}
	t.Logf("expensive picks per quality target %v: %v of %d", learnedQualities, shares, len(learnedPrompts))
}

func TestClassifyRoute(t *testing.T) {
	label := func(model, user string) string {
		if strings.Contains(user, "proof") {
			return "complex"
		}
		return "Simple."
	}
	s, st := startRouted(t, cascadeSim(), label, `
  - name: triage
    policy: classify
    classifier: {deployment: labeler, labels: {simple: small, complex: large}, timeout: 2s}
    default: medium
  - name: triage-slow
    policy: classify
    classifier: {deployment: mini, labels: {simple: small, complex: large}, timeout: 150ms}
    default: medium
`)
	tests := []struct {
		name, route, prompt, want, reason string
		labelerCalls                      int
	}{
		{name: "simple", route: "triage", prompt: "say hi", want: "small", reason: "triage: classified simple -> small (classifier labeler)", labelerCalls: 1},
		{name: "complex", route: "triage", prompt: "a proof please", want: "large", reason: "classified complex -> large", labelerCalls: 1},
		{name: "cached", route: "triage", prompt: "say hi", want: "small", reason: "classified simple -> small (cached)", labelerCalls: 0},
		{name: "slow classifier", route: "triage-slow", prompt: "say hi", want: "medium", reason: "classifier timed out after 150ms -> default medium", labelerCalls: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := st.count("stub-labeler")
			start := time.Now()
			h := s.served(routeBody(tc.route, tc.prompt, ""))
			took := time.Since(start)
			if got := h.Get("X-Switchyard-Deployment"); got != tc.want {
				t.Errorf("deployment: got %q, want %q (reason %q)", got, tc.want, h.Get("X-Switchyard-Reason"))
			}
			if got := h.Get("X-Switchyard-Reason"); !strings.Contains(got, tc.reason) {
				t.Errorf("reason: got %q, want it to contain %q", got, tc.reason)
			}
			if got := st.count("stub-labeler") - before; got != tc.labelerCalls {
				t.Errorf("classifier calls: got %d, want %d", got, tc.labelerCalls)
			}
			if took > 2*time.Second {
				t.Errorf("took %v, want within the classifier budget plus the answer", took)
			}
		})
	}
	if got := s.callCount("sim-mini"); got != 1 {
		t.Errorf("slow classifier calls: got %d, want 1", got)
	}
}

func TestRouteExplainCallsNoModel(t *testing.T) {
	s, st := startRouted(t, cascadeSim(), scoreAnswer, cascadeRoutes+`
  - name: triage
    policy: classify
    classifier: {deployment: labeler, labels: {simple: small, complex: large}}
    default: medium
  - {name: task, policy: rules, rules: [{name: coding, when: 'task == "coding"', target: large}], default: small}
`)
	tests := []struct {
		name   string
		body   string
		hdr    []string
		status int
		check  func(t *testing.T, ex explanation)
	}{
		{name: "cascade", body: routeBody("c-len", "hi", ""), status: 200, check: func(t *testing.T, ex explanation) {
			if ex.Policy != "cascade" || ex.Cascade == nil || strings.Join(ex.Cascade.Stages, ",") != "small,medium,large" || strings.Join(ex.Cascade.Checks, ",") != "min_length 60" {
				t.Errorf("got %+v, want cascade small,medium,large checked by min_length 60", ex)
			}
		}},
		{name: "judge cascade", body: routeBody("c-judge", "hi", ""), status: 200, check: func(t *testing.T, ex explanation) {
			if ex.Cascade == nil || strings.Join(ex.Cascade.Checks, ",") != "judge scorer >= 7" {
				t.Errorf("got %+v, want judge scorer >= 7", ex.Cascade)
			}
		}},
		{name: "classify uses default", body: routeBody("triage", "hi", ""), status: 200, check: func(t *testing.T, ex explanation) {
			if len(ex.Deployments) == 0 || ex.Deployments[0] != "medium" || !strings.Contains(ex.Reason, "classifier not called") {
				t.Errorf("got %+v, want default medium, classifier not called", ex)
			}
		}},
		{name: "rules with task header", body: routeBody("task", "hi", ""), hdr: []string{"X-Switchyard-Task", "coding"}, status: 200, check: func(t *testing.T, ex explanation) {
			if len(ex.Deployments) == 0 || ex.Deployments[0] != "large" || ex.Features == nil || ex.Features.Task != "coding" {
				t.Errorf("got %+v, want large for task coding", ex)
			}
		}},
		{name: "unknown model", body: routeBody("nope", "hi", ""), status: 404, check: func(t *testing.T, ex explanation) {
			if ex.Error == nil || ex.Error.Code != "model_not_found" {
				t.Errorf("error: got %+v, want model_not_found", ex.Error)
			}
		}},
		{name: "no capable deployment", body: fmt.Sprintf(imageBody, "c-schema"), status: 400, check: func(t *testing.T, ex explanation) {
			if ex.Error == nil || ex.Error.Code != "no_capable_deployment" {
				t.Errorf("error: got %+v, want no_capable_deployment", ex.Error)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, ex := s.explain(tc.body, tc.hdr...)
			if code != tc.status {
				t.Errorf("status: got %d, want %d", code, tc.status)
			}
			tc.check(t, ex)
		})
	}
	for _, m := range []string{"sim-mini", "sim-small", "sim-medium", "sim-large", "sim-vision", "sim-verbose", "sim-judge"} {
		if got := s.callCount(m); got != 0 {
			t.Errorf("%s calls: got %d, want 0", m, got)
		}
	}
	for _, m := range []string{"stub-labeler", "stub-scorer", "stub-refuser"} {
		if got := st.count(m); got != 0 {
			t.Errorf("%s calls: got %d, want 0", m, got)
		}
	}
}

// tierRoutes continue baseConfig's routes (deployments small, medium,
// claude): the same route name maps to a different route per key tier.
const tierRoutes = `  - name: chat
    targets: [medium]
    tiers: {basic: chat-basic, pro: chat-pro}
  - {name: chat-basic, targets: [small]}
  - {name: chat-pro, targets: [claude, medium]}
  - name: by-tier
    policy: rules
    rules: [{name: basic, when: 'tier == "basic"', target: small}, {name: pro, when: 'tier == "pro"', target: claude}]
    default: medium
  - name: ab-key
    policy: weighted
    arms: [{name: control, target: medium, weight: 50}, {name: candidate, target: small, weight: 50}]
`

func TestTierRoutes(t *testing.T) {
	simURL := startSim(t, fastSim())
	s := startTenantStack(t, simURL, tierRoutes+sqliteExtra(t, ""))
	keys := map[string]string{
		"basic": s.newKey("acme", admin.KeyCreate{Name: "b", Tier: "basic"}).Secret,
		"pro":   s.newKey("acme", admin.KeyCreate{Name: "p", Tier: "pro"}).Secret,
		"none":  s.newKey("acme", admin.KeyCreate{Name: "n"}).Secret,
	}
	tests := []struct {
		name, tier, route, want, reason string
	}{
		{"mapping basic", "basic", "chat", "small", "chat: tier basic uses chat-basic"},
		{"mapping pro", "pro", "chat", "claude", "chat: tier pro uses chat-pro"},
		{"mapping no tier", "none", "chat", "medium", "chat: fallback chain"},
		{"rules basic", "basic", "by-tier", "small", "by-tier: basic matched -> small"},
		{"rules pro", "pro", "by-tier", "claude", "by-tier: pro matched -> claude"},
		{"rules no tier", "none", "by-tier", "medium", "no rule matched -> default medium"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body, h := chat(s.hc, s.base, keys[tc.tier], routeBody(tc.route, "hello", ""))
			if code != 200 {
				t.Fatalf("got %d %s, want 200", code, body)
			}
			if got := h.Get("X-Switchyard-Deployment"); got != tc.want {
				t.Errorf("deployment: got %q, want %q (reason %q)", got, tc.want, h.Get("X-Switchyard-Reason"))
			}
			if got := h.Get("X-Switchyard-Reason"); !strings.Contains(got, tc.reason) {
				t.Errorf("reason: got %q, want it to contain %q", got, tc.reason)
			}
		})
	}
	// A weighted route sticks to the key: every request with one key gets
	// the same arm.
	for tier, key := range keys {
		first := ""
		for i := range 5 {
			code, body, h := chat(s.hc, s.base, key, routeBody("ab-key", fmt.Sprintf("hello %d", i), ""))
			if code != 200 {
				t.Fatalf("got %d %s, want 200", code, body)
			}
			arm := h.Get("X-Switchyard-Arm")
			if first == "" {
				first = arm
			}
			if arm != first || arm == "" {
				t.Errorf("key %s request %d: got arm %q, want %q", tier, i, arm, first)
			}
			if !strings.Contains(h.Get("X-Switchyard-Reason"), "(sticky key)") {
				t.Errorf("reason: got %q, want sticky key", h.Get("X-Switchyard-Reason"))
			}
		}
	}
}

func TestDemoRoutes(t *testing.T) {
	t.Chdir(t.TempDir()) // the demo store and spool go to the working directory
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan string, 1)
	done := make(chan error, 1)
	var banner bytes.Buffer // written before Started is called
	go func() {
		done <- Serve(ctx, Options{Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), Stdout: &banner, Started: func(u string) { started <- u }})
	}()
	var base string
	select {
	case base = <-started:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("demo gateway did not start")
	}
	tr := &http.Transport{}
	defer func() {
		tr.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil && err != context.Canceled {
			t.Errorf("serve returned %v", err)
		}
	}()
	hc := &http.Client{Transport: tr}
	for _, tc := range []struct{ route, policy string }{
		{"auto", "fallback"}, {"smart", "rules"}, {"cheap", "cheapest"}, {"careful", "cascade"}, {"ab", "weighted"}, {"learned", "learned"},
	} {
		t.Run(tc.route, func(t *testing.T) {
			code, body, h := chat(hc, base, "", routeBody(tc.route, "hello there", `"max_tokens":64,`))
			if code != 200 {
				t.Fatalf("got %d %s, want 200", code, body)
			}
			if got := h.Get("X-Switchyard-Policy"); got != tc.policy {
				t.Errorf("policy: got %q, want %q", got, tc.policy)
			}
			if h.Get("X-Switchyard-Deployment") == "" {
				t.Error("X-Switchyard-Deployment missing")
			}
			var out struct {
				Choices []struct{ Message struct{ Content string } }
			}
			if json.Unmarshal([]byte(body), &out) != nil || len(out.Choices) != 1 || out.Choices[0].Message.Content == "" {
				t.Errorf("answer: got %s, want one choice with content", body)
			}
		})
	}

	// The demo's dashboard: its admin key is in the banner, and the
	// requests above show in the usage it reads.
	m := regexp.MustCompile(`Dashboard on (http://127\.0\.0\.1:\d+)/dashboard/ \(admin key for this run: (sy-demo-[0-9a-f]{24})\)`).FindStringSubmatch(banner.String())
	if m == nil {
		t.Fatalf("banner %q: want the dashboard URL and admin key", banner.String())
	}
	admin, key := m[1], m[2]
	resp, err := hc.Get(admin + "/dashboard/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /dashboard/: %d", resp.StatusCode)
	}
	var usage struct{ Usage []struct{ Requests int } }
	clocktest.WaitFor(t, "the demo's usage", func() bool {
		req, _ := http.NewRequest("GET", admin+"/admin/usage", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := hc.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&usage) == nil && len(usage.Usage) == 1 && usage.Usage[0].Requests >= 6
	})
}
