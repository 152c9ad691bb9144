package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// worstCaseDeployments are deployments whose output limit is what the
// simulator answers (sim-medium 32 tokens, sim-large 48), so that a
// request's worst case is what it costs; a gpt-image-style deployment
// priced by tokens; a cascade that always escalates, through a judge
// (sim-small answers words, never a score) and a check no answer passes;
// and a route to the 48-token deployment.
const worstCaseDeployments = `  - {name: wc-medium, provider: sim-openai, model: sim-medium, price: {input_per_mtok: 1, output_per_mtok: 4}, context_window: 65536, max_output_tokens: 32}
  - {name: wc-large, provider: sim-openai, model: sim-large, price: {input_per_mtok: 3, output_per_mtok: 15}, context_window: 200000, max_output_tokens: 48}
  - {name: wc-understated, provider: sim-openai, model: sim-large, price: {input_per_mtok: 3, output_per_mtok: 15}, context_window: 200000, max_output_tokens: 8}
  - {name: wc-image, provider: sim-openai, model: sim-image, price: {input_per_mtok: 5, output_per_mtok: 40}, capabilities: {chat: false, images: true}}
routes:
  - {name: wc-cascade, policy: cascade, targets: [wc-medium, wc-large], checks: [{judge: {deployment: small, min_score: 7}}, {min_length: 100000}]}
  - {name: wc-large-only, targets: [wc-large]}
`

// startWorstCaseStack is a tenancy stack with worstCaseDeployments over a
// simulator whose answers take 300 ms, so that a burst's requests are in
// flight together.
func startWorstCaseStack(t *testing.T) *tenantStack {
	t.Helper()
	simCfg := fastSim()
	for i := range simCfg.Models {
		simCfg.Models[i].Latency = 300 * time.Millisecond
	}
	return startEditedTenantStack(t, startSim(t, simCfg), sqliteExtra(t, ""), func(c string) string {
		return strings.Replace(c, "routes:\n", worstCaseDeployments, 1)
	})
}

// burstResult is what a burst's admitted requests used, and how many of
// them each status got.
type burstResult struct {
	codes  map[int]int
	tokens int     // usage total_tokens of the admitted ones
	cost   float64 // X-Switchyard-Cost of the admitted ones
}

// burst sends n copies of body to path with key at once, and adds up
// what the admitted ones used; a refusal must be a 429 whose code is one
// of refusals.
func (s *tenantStack) burst(t *testing.T, n int, key, path, body string, refusals ...string) burstResult {
	t.Helper()
	var mu sync.Mutex
	res := burstResult{codes: map[int]int{}}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("POST", s.base+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := s.hc.Do(req)
			if err != nil {
				t.Errorf("POST %s: %v", path, err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var answer struct {
				Usage struct {
					TotalTokens int `json:"total_tokens"`
				} `json:"usage"`
				Error struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			_ = json.Unmarshal(b, &answer)
			mu.Lock()
			defer mu.Unlock()
			res.codes[resp.StatusCode]++
			switch resp.StatusCode {
			case http.StatusOK:
				c, err := strconv.ParseFloat(resp.Header.Get("X-Switchyard-Cost"), 64)
				if err != nil || answer.Usage.TotalTokens == 0 {
					t.Errorf("200 with cost %q and usage %s", resp.Header.Get("X-Switchyard-Cost"), b)
				}
				res.tokens += answer.Usage.TotalTokens
				res.cost += c
			case http.StatusTooManyRequests:
				if !strings.Contains(strings.Join(refusals, " "), answer.Error.Code) || answer.Error.Code == "" {
					t.Errorf("got 429 %s, want one of %v", b, refusals)
				}
			default:
				t.Errorf("got %d %s, want 200 or 429", resp.StatusCode, b)
			}
		})
	}
	close(start)
	wg.Wait()
	t.Logf("%d × POST %s: statuses %v, admitted ones used %d tokens costing $%v", n, path, res.codes, res.tokens, res.cost)
	return res
}

// TestBudgetReservesEveryCascadeStage: a cascade route reserves every
// stage's worst case and its judge's, as it is charged for each stage it
// calls, so a burst spends no more than the budget.
func TestBudgetReservesEveryCascadeStage(t *testing.T) {
	s := startWorstCaseStack(t)
	// A request costs about $0.00013 at wc-medium, $0.00001 for the judge
	// and $0.00075 at wc-large: $0.0023 holds two (reserving the dearest
	// stage alone, three).
	const budget = 0.0023
	k := s.newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{BudgetDailyUSD: budget}})
	body := `{"model":"wc-cascade","max_tokens":48,"messages":[{"role":"user","content":"hello"}]}`
	got := s.burst(t, 10, k.Secret, "/v1/chat/completions", body, "budget_exceeded")
	if got.codes[200] == 0 || got.cost > budget {
		t.Errorf("got %v costing $%v, want some admitted within the budget of $%v", got.codes, got.cost, budget)
	}
}

// TestTPMReservesOutputLimitWithoutMaxTokens: a request without
// max_tokens reserves the deployment's output limit against TPM, as its
// budget does, so a burst uses no more than the limit; a limit smaller
// than one request's worst case still admits a request at an idle key,
// one at a time.
func TestTPMReservesOutputLimitWithoutMaxTokens(t *testing.T) {
	s := startWorstCaseStack(t)
	const tpm = 200 // three requests of 48 output tokens and their input
	k := s.newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{TPM: tpm}})
	body := `{"model":"wc-large-only","messages":[{"role":"user","content":"hello"}]}`
	got := s.burst(t, 20, k.Secret, "/v1/chat/completions", body, "rate_limit_exceeded")
	if got.codes[200] == 0 || got.tokens > tpm {
		t.Errorf("got %v using %d tokens, want some admitted within the tpm of %d", got.codes, got.tokens, tpm)
	}

	small := s.newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{TPM: 30}})
	if code, b, _ := chat(s.hc, s.base, small.Secret, body); code != 200 {
		t.Fatalf("a request bigger than the tpm at an idle key: got %d %s, want 200", code, b)
	}
	if code, b, h := chat(s.hc, s.base, small.Secret, body); code != 429 || !strings.Contains(b, "tokens-per-minute") || h.Get("Retry-After") == "" {
		t.Errorf("the next one: got %d %s (Retry-After %q), want 429 tpm with a Retry-After", code, b, h.Get("Retry-After"))
	}
}

// TestTPMReservesTheClientsMaxTokens: a client's max_tokens goes upstream
// as sent, so it is reserved as sent, even above a deployment's
// max_output_tokens that understates what the model writes (8 here, the
// model answers 48): reserving the cap let a burst use several times the
// tpm.
func TestTPMReservesTheClientsMaxTokens(t *testing.T) {
	s := startWorstCaseStack(t)
	const tpm = 150 // one request of max_tokens 100 and its input
	k := s.newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{TPM: tpm}})
	body := `{"model":"wc-understated","max_tokens":100,"messages":[{"role":"user","content":"hello"}]}`
	got := s.burst(t, 6, k.Secret, "/v1/chat/completions", body, "rate_limit_exceeded")
	if got.codes[200] == 0 || got.tokens > tpm {
		t.Errorf("got %v using %d tokens, want some admitted within the tpm of %d", got.codes, got.tokens, tpm)
	}
}

// TestBudgetReservesCompletionsBestOf: a legacy Completions request's
// upstream makes, and bills, best_of answers per prompt to return n of
// them, so its worst case is best_of (or n) times max_tokens for every
// prompt: one that cannot fit the whole budget so is refused rather than
// reserved as one answer (found in audit C's follow-up).
func TestBudgetReservesCompletionsBestOf(t *testing.T) {
	s := startWorstCaseStack(t)
	// wc-medium: 32 output tokens at $4/MTok, $0.000128 an answer; 20 of
	// them, $0.00256, are more than the whole $0.001.
	k := s.newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{BudgetDailyUSD: 0.001}})
	auth := []string{"Authorization", "Bearer " + k.Secret}
	if code, out, _ := s.send("/v1/completions", `{"model":"wc-medium","prompt":"Once","max_tokens":32}`, auth...); code != 200 {
		t.Fatalf("one answer: got %d %s, want 200", code, out)
	}
	for _, body := range []string{
		`{"model":"wc-medium","prompt":"Once","max_tokens":32,"best_of":20}`,
		`{"model":"wc-medium","prompt":"Once","max_tokens":32,"n":20}`,
		`{"model":"wc-medium","prompt":["Once","Twice","Thrice","Four","Five","Six","Seven","Eight","Nine","Ten","Eleven","Twelve","13","14","15","16","17","18","19","20"],"max_tokens":32}`,
	} {
		if code, out, _ := s.send("/v1/completions", body, auth...); code != 429 || !strings.Contains(out, "budget_exceeded") {
			t.Errorf("%s: got %d %s, want 429 budget_exceeded for a worst case above the whole budget", body, code, out)
		}
	}
}

// TestBudgetReservesTranslatedThinking: an OpenAI client's reasoning
// effort makes a translation for a Claude reasoning deployment add the
// effort's thinking budget to max_tokens, billed as output, so admission
// reserves it: max_tokens 50 with effort max may cost 65,586 output
// tokens, more than the whole budget (found by audit F: one such request
// spent 20 times its tenant's budget).
func TestBudgetReservesTranslatedThinking(t *testing.T) {
	simCfg := fastSim()
	s := startEditedTenantStack(t, startSim(t, simCfg), sqliteExtra(t, ""), func(c string) string {
		return strings.Replace(c, "routes:\n", `  - {name: wc-thinker, provider: sim-anthropic, model: sim-large, price: {input_per_mtok: 3, output_per_mtok: 15}, context_window: 200000, max_output_tokens: 128000, capabilities: {reasoning: true}}
routes:
  - {name: wc-think-cascade, policy: cascade, targets: [small, wc-thinker], checks: [{min_length: 1}]}
`, 1)
	})
	k := s.newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{BudgetDailyUSD: 0.05}})
	auth := []string{"Authorization", "Bearer " + k.Secret}
	if code, out, _ := s.send("/v1/chat/completions", `{"model":"wc-thinker","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`, auth...); code != 200 {
		t.Fatalf("no effort: got %d %s, want 200", code, out)
	}
	for _, body := range []string{
		`{"model":"wc-thinker","max_tokens":50,"reasoning_effort":"max","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"wc-thinker","max_output_tokens":50,"reasoning":{"effort":"max"},"input":"hi"}`,
		// A cascade may call each of its stages: the Claude one thinks.
		`{"model":"wc-think-cascade","max_tokens":50,"reasoning_effort":"max","messages":[{"role":"user","content":"hi"}]}`,
	} {
		path := "/v1/chat/completions"
		if strings.Contains(body, `"input"`) {
			path = "/v1/responses"
		}
		if code, out, _ := s.send(path, body, auth...); code != 429 || !strings.Contains(out, "budget_exceeded") {
			t.Errorf("%s: got %d %s, want 429 budget_exceeded: its thinking may cost $0.98", body, code, out)
		}
	}
}

// TestBudgetCountsCompletionsInputOnce: a legacy Completions request's
// prompts are billed once, however many choices each gets, so 20 prompts
// of about 5,000 tokens in all reserve their input once, not once per
// choice (found by audit F: such a request was refused as a $0.10 worst
// case under a $0.03 budget while the same text as one prompt passed).
func TestBudgetCountsCompletionsInputOnce(t *testing.T) {
	s := startWorstCaseStack(t)
	k := s.newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{BudgetDailyUSD: 0.03}})
	prompts := make([]string, 20)
	for i := range prompts {
		prompts[i] = strconv.Quote(strings.Repeat("word ", 200))
	}
	body := `{"model":"wc-medium","max_tokens":1,"prompt":[` + strings.Join(prompts, ",") + `]}`
	// The simulator answers one prompt only, so admitted, this is its 400.
	if code, out, _ := s.send("/v1/completions", body, "Authorization", "Bearer "+k.Secret); code == 429 || strings.Contains(out, "budget_exceeded") {
		t.Errorf("20 prompts of $0.005 in all under $0.03: got %d %s, want it admitted", code, out)
	}
}
