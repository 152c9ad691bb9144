package app

import (
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// TestSpentBudgetIsNotRetried: a key whose daily budget is spent is told
// to try again when the day turns (Retry-After, up to a day away), and
// X-Should-Retry: false with it, or the official SDKs sleep that long in
// their automatic retry (found by audit AD: a monthly budget's 429 held an
// SDK call for weeks). Within the last two minutes of a day the wait is a
// short one, and retried.
func TestSpentBudgetIsNotRetried(t *testing.T) {
	simCfg := fastSim()
	for i := range simCfg.Models {
		simCfg.Models[i].OutputTokens = 900
	}
	s := startTenantStack(t, startSim(t, simCfg), sqliteExtra(t, ""))
	// medium: $4 a million output tokens. The first call reserves 1000
	// output tokens ($0.004 and its input) and spends 900 ($0.0036), so
	// the second's reservation no longer fits $0.006.
	k := s.newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{BudgetDailyUSD: 0.006}})
	body := `{"model":"medium","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}`
	if code, b, _ := chat(s.hc, s.base, k.Secret, body); code != 200 {
		t.Fatalf("first call: got %d %s, want 200", code, b)
	}
	code, b, h := chat(s.hc, s.base, k.Secret, body)
	if code != 429 || !strings.Contains(b, "budget_exceeded") {
		t.Fatalf("second call: got %d %s, want 429 budget_exceeded", code, b)
	}
	secs, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || secs <= 0 {
		t.Fatalf("got Retry-After %q, want the seconds to the next day", h.Get("Retry-After"))
	}
	want := ""
	if secs > int(provider.MaxRetryWait.Seconds()) {
		want = "false"
	}
	if got := h.Get("X-Should-Retry"); got != want {
		t.Errorf("Retry-After %d: got X-Should-Retry %q, want %q", secs, got, want)
	}
}
