package app

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/sim"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// embedUSDPerToken is the input price the tests put on deployment embed:
// one dollar a token, so one call costs more than any tiny budget.
const embedUSDPerToken = 1.0

// pricedEmbed gives deployment embed of baseConfig an input price of
// embedUSDPerToken (it has none there, so embeddings cost nothing).
func pricedEmbed(c string) string {
	const model = "    model: sim-embed\n"
	if !strings.Contains(c, model) {
		panic("pricedEmbed: baseConfig has no sim-embed deployment")
	}
	return strings.Replace(c, model, model+fmt.Sprintf("    price: {input_per_mtok: %g}\n", embedUSDPerToken*1e6), 1)
}

const embedBody = `{"model":"embed","input":"the quick brown fox jumps over the lazy dog"}`

// embedReply is one /v1/embeddings answer.
type embedReply struct {
	code      int
	body      string
	requestID string
	header    http.Header
}

// embedRequest posts one embeddings request with key.
func embedRequest(t *testing.T, s *tenantStack, key string) embedReply {
	t.Helper()
	req, _ := http.NewRequest("POST", s.base+"/v1/embeddings", strings.NewReader(embedBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatalf("POST /v1/embeddings: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return embedReply{code: resp.StatusCode, body: string(b), requestID: resp.Header.Get("X-Request-Id"), header: resp.Header}
}

// openAIErrorCode returns error.code of an OpenAI-format error body and
// whether the body has that shape (a message, a type and a code).
func openAIErrorCode(body string) (string, bool) {
	var e struct {
		Error *struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(body), &e) != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" || e.Error.Code == nil {
		return "", false
	}
	return *e.Error.Code, true
}

// TestEmbeddingAdmission checks that /v1/embeddings goes through the same
// admission as chat: route allow-lists, rate limits and budgets refuse
// before the provider is called, and every request, served or refused,
// yields exactly one usage record naming the key's tenant and key.
func TestEmbeddingAdmission(t *testing.T) {
	tests := []struct {
		name      string
		key       admin.KeyCreate
		requests  int
		wantCodes []int  // per request
		wantError string // error.code of the refused ones
		wantRetry bool   // the refused ones carry Retry-After
	}{
		{name: "route not allowed", key: admin.KeyCreate{AllowedRoutes: []string{"cheap"}},
			requests: 1, wantCodes: []int{403}, wantError: "route_not_allowed"},
		{name: "rpm", key: admin.KeyCreate{Limits: tenancy.Limits{RPM: 2}},
			requests: 3, wantCodes: []int{200, 200, 429}, wantError: "rate_limit_exceeded", wantRetry: true},
		// One call is estimated at several dollars; the budget holds less,
		// so waiting would not help: no Retry-After.
		{name: "budget", key: admin.KeyCreate{Limits: tenancy.Limits{BudgetDailyUSD: 0.5}},
			requests: 1, wantCodes: []int{429}, wantError: "budget_exceeded"},
		{name: "allowed and unlimited", key: admin.KeyCreate{AllowedRoutes: []string{"embed"}},
			requests: 2, wantCodes: []int{200, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			simSrv, simURL, stopSim, err := sim.Start(sim.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(stopSim)
			extra := sqliteExtra(t, "")
			s := startEditedTenantStack(t, simURL, extra, pricedEmbed)
			k := s.newKey("acme", tt.key)

			replies := make([]embedReply, tt.requests)
			served := 0
			for i := range replies {
				r := embedRequest(t, s, k.Secret)
				replies[i] = r
				if r.code != tt.wantCodes[i] {
					t.Fatalf("request %d: got %d %s, want %d", i+1, r.code, r.body, tt.wantCodes[i])
				}
				if r.requestID == "" {
					t.Errorf("request %d: got no X-Request-Id, want one", i+1)
				}
				if r.code == 200 {
					served++
					continue
				}
				code, ok := openAIErrorCode(r.body)
				if !ok || code != tt.wantError {
					t.Errorf("request %d: got body %s, want an OpenAI error with code %q", i+1, r.body, tt.wantError)
				}
				if got := r.header.Get("Retry-After"); (got != "") != tt.wantRetry {
					t.Errorf("request %d: got Retry-After %q, want one: %v", i+1, got, tt.wantRetry)
				}
				// A 429 no wait cures tells the SDKs not to retry it.
				if got, want := r.header.Get("X-Should-Retry"), map[bool]string{false: "false"}[tt.wantRetry || r.code != 429]; got != want {
					t.Errorf("request %d: got X-Should-Retry %q, want %q", i+1, got, want)
				}
			}
			if got := len(simSrv.Calls("sim-embed")); got != served {
				t.Errorf("got %d embeddings calls at the provider, want %d (refused requests must not reach it)", got, served)
			}

			s.stop() // flushes the ledger
			st := storeOf(t, extra)
			recs := usageRecords(t, st)
			if len(recs) != tt.requests {
				t.Errorf("got %d usage records, want %d (one per request)", len(recs), tt.requests)
			}
			byID := map[string][]store.UsageRecord{}
			for _, r := range recs {
				byID[r.RequestID] = append(byID[r.RequestID], r)
			}
			for i, reply := range replies {
				rs := byID[reply.requestID]
				if len(rs) != 1 {
					t.Errorf("request %d: got %d usage records for %s, want 1", i+1, len(rs), reply.requestID)
					continue
				}
				checkEmbedRecord(t, i+1, rs[0], reply, k)
			}
			if strings.Contains(s.logs.String(), k.Secret) {
				t.Errorf("got the key's secret in the logs")
			}
		})
	}
}

// checkEmbedRecord checks the usage record rec of the n-th request, which
// got reply.
func checkEmbedRecord(t *testing.T, n int, rec store.UsageRecord, reply embedReply, k admin.KeyView) {
	t.Helper()
	if rec.TenantID != "acme" || rec.KeyID != k.ID {
		t.Errorf("request %d: got record tenant %q key %q, want acme and %s", n, rec.TenantID, rec.KeyID, k.ID)
	}
	if rec.Route != "embed" {
		t.Errorf("request %d: got record route %q, want embed", n, rec.Route)
	}
	if rec.Status != reply.code {
		t.Errorf("request %d: got record status %d, want %d", n, rec.Status, reply.code)
	}
	if reply.code != 200 {
		code, _ := openAIErrorCode(reply.body)
		if rec.ErrorCode != code {
			t.Errorf("request %d: got record error code %q, want %q", n, rec.ErrorCode, code)
		}
		if rec.CostUSD != 0 || rec.InputTokens != 0 {
			t.Errorf("request %d: got a refused request billed %d tokens, $%g; want 0 and 0", n, rec.InputTokens, rec.CostUSD)
		}
		return
	}
	var resp struct {
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(reply.body), &resp); err != nil {
		t.Fatalf("request %d: decode %s: %v", n, reply.body, err)
	}
	if rec.Deployment != "embed" {
		t.Errorf("request %d: got record deployment %q, want embed", n, rec.Deployment)
	}
	if rec.InputTokens <= 0 || rec.InputTokens != resp.Usage.PromptTokens {
		t.Errorf("request %d: got %d input tokens in the record, want %d (> 0, as the provider reported)", n, rec.InputTokens, resp.Usage.PromptTokens)
	}
	if rec.TokensEstimated {
		t.Errorf("request %d: got tokens estimated, want the provider's count", n)
	}
	want := float64(rec.InputTokens) * embedUSDPerToken
	if rec.CostUSD <= 0 || math.Abs(rec.CostUSD-want) > 1e-9 {
		t.Errorf("request %d: got cost $%g, want $%g (> 0)", n, rec.CostUSD, want)
	}
}

// TestEmbeddingUsageEstimated serves embeddings from a provider that
// reports no usage: the record carries an estimate of the input tokens,
// flagged as such, and a cost, so the request is still billed.
func TestEmbeddingUsageEstimated(t *testing.T) {
	var calls atomic.Int64
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/embeddings" {
			http.NotFound(w, r)
			return
		}
		calls.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.6,0.8]}],"model":"bare-embed"}`)
	}))
	defer bare.Close()
	onBare := func(c string) string {
		c = pricedEmbed(c)
		const dep = "    provider: sim-openai\n    model: sim-embed\n"
		if !strings.Contains(c, dep) || !strings.Contains(c, "\ndeployments:\n") {
			t.Fatalf("baseConfig has no sim-embed deployment on sim-openai")
		}
		c = strings.Replace(c, dep, "    provider: bare\n    model: sim-embed\n", 1)
		return strings.Replace(c, "\ndeployments:\n", "\n  - name: bare\n    kind: openai\n    base_url: "+bare.URL+"/v1\ndeployments:\n", 1)
	}
	extra := sqliteExtra(t, "")
	s := startEditedTenantStack(t, startSim(t, sim.DefaultConfig()), extra, onBare)
	k := s.newKey("acme", admin.KeyCreate{})
	reply := embedRequest(t, s, k.Secret)
	if reply.code != 200 {
		t.Fatalf("got %d %s, want 200", reply.code, reply.body)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("got %d calls at the usage-less provider, want 1", got)
	}
	s.stop()
	st := storeOf(t, extra)
	recs := usageRecords(t, st)
	if len(recs) != 1 {
		t.Fatalf("got %d usage records, want 1", len(recs))
	}
	r := recs[0]
	if r.RequestID != reply.requestID || r.TenantID != "acme" || r.KeyID != k.ID || r.Deployment != "embed" || r.Status != 200 {
		t.Errorf("got record %s tenant %q key %q deployment %q status %d, want %s acme %s embed 200",
			r.RequestID, r.TenantID, r.KeyID, r.Deployment, r.Status, reply.requestID, k.ID)
	}
	if r.InputTokens <= 0 || !r.TokensEstimated {
		t.Errorf("got %d input tokens, estimated %v; want > 0 and true", r.InputTokens, r.TokensEstimated)
	}
	if want := float64(r.InputTokens) * embedUSDPerToken; r.CostUSD <= 0 || math.Abs(r.CostUSD-want) > 1e-9 {
		t.Errorf("got cost $%g, want $%g (> 0)", r.CostUSD, want)
	}
}
