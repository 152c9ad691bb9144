package app

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// TestBudgetReservesImageOutput: an image request of a deployment priced
// by tokens reserves the output tokens of its images (n times the most
// an image of its size and quality can be billed), so a burst on a
// budget with room for one is admitted once and spends no more than the
// budget; a request that names neither size nor quality reserves the
// largest, here more than the whole budget.
func TestBudgetReservesImageOutput(t *testing.T) {
	s := startWorstCaseStack(t)
	// Two 1024x1024 medium images are 2 × 1056 output tokens at $40/MTok,
	// $0.0845 and the prompt: $0.1 holds one such request.
	const budget = 0.1
	k := s.newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{BudgetDailyUSD: budget}})
	body := `{"model":"wc-image","prompt":"a red train","n":2,"size":"1024x1024","quality":"medium"}`
	got := s.burst(t, 8, k.Secret, "/v1/images/generations", body, "budget_exceeded")
	if got.codes[200] != 1 || got.cost > budget {
		t.Errorf("got %v costing $%v, want one admitted within the budget of $%v", got.codes, got.cost, budget)
	}
	code, b, h := postWithKey(s.hc, s.base, k.Secret, "/v1/images/generations", `{"model":"wc-image","prompt":"a blue train"}`)
	if code != 429 || !strings.Contains(b, "worst-case cost ($0.24") || h.Get("Retry-After") != "" {
		t.Errorf("image of no size or quality: got %d %s (Retry-After %q), want 429 naming its worst case of 6240 tokens, no Retry-After", code, b, h.Get("Retry-After"))
	}
}

// TestTPMReservesImageOutput: the same image requests on a TPM-limited
// key reserve their output tokens, so a burst uses no more than the
// limit.
func TestTPMReservesImageOutput(t *testing.T) {
	s := startWorstCaseStack(t)
	const tpm = 3000 // two 1056-token images and their prompts
	k := s.newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{TPM: tpm}})
	body := `{"model":"wc-image","prompt":"a red train","size":"1024x1024","quality":"medium"}`
	got := s.burst(t, 8, k.Secret, "/v1/images/generations", body, "rate_limit_exceeded")
	if got.codes[200] == 0 || got.tokens > tpm {
		t.Errorf("got %v using %d tokens, want some admitted within the tpm of %d", got.codes, got.tokens, tpm)
	}
}

// postWithKey sends body to path with key and returns status, body and headers.
func postWithKey(hc *http.Client, base, key, path, body string) (int, string, http.Header) {
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}
