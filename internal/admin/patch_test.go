package admin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// TestPatchMergesLimits: PATCH of a key's or a tenant's limits changes
// the limits sent and keeps the others (a merge patch): raising a key's
// rpm leaves its budgets, an explicit 0 makes one unlimited, and a null
// is refused rather than read as unlimited. A tenant admin's changes are
// checked as merged, so lowering one limit is allowed.
func TestPatchMergesLimits(t *testing.T) {
	e := newEnv(t)
	start := tenancy.Limits{RPM: 60, TPM: 1000, MaxConcurrent: 4, BudgetDailyUSD: 5, BudgetMonthlyUSD: 50}
	e.tenant("t1", start)
	k := e.key(KeyCreate{TenantID: "t1", Name: "k", Limits: start})
	ta := e.key(KeyCreate{TenantID: "t1", Name: "ta", Role: store.RoleTenantAdmin, Limits: start})
	kTA := e.key(KeyCreate{TenantID: "t1", Name: "k2", Limits: start})
	objects := []struct{ name, path string }{{"key", "/admin/keys/" + k.ID}, {"tenant", "/admin/tenants/t1"}}
	limitsOf := func(t *testing.T, b string) tenancy.Limits {
		t.Helper()
		var v struct{ Limits tenancy.Limits }
		if err := json.Unmarshal([]byte(b), &v); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return v.Limits
	}
	for _, o := range objects {
		t.Run(o.name, func(t *testing.T) {
			steps := []struct {
				body string
				want tenancy.Limits
			}{
				{`{"limits":{"rpm":120}}`, tenancy.Limits{RPM: 120, TPM: 1000, MaxConcurrent: 4, BudgetDailyUSD: 5, BudgetMonthlyUSD: 50}},
				{`{"limits":{"budget_daily_usd":7.5,"tpm":2000}}`, tenancy.Limits{RPM: 120, TPM: 2000, MaxConcurrent: 4, BudgetDailyUSD: 7.5, BudgetMonthlyUSD: 50}},
				{`{"limits":{"budget_monthly_usd":0}}`, tenancy.Limits{RPM: 120, TPM: 2000, MaxConcurrent: 4, BudgetDailyUSD: 7.5}},
				{`{"limits":{}}`, tenancy.Limits{RPM: 120, TPM: 2000, MaxConcurrent: 4, BudgetDailyUSD: 7.5}},
			}
			for _, st := range steps {
				code, b := e.doRaw(adminKey, "PATCH", o.path, st.body)
				if code != 200 {
					t.Fatalf("PATCH %s: got %d %s, want 200", st.body, code, b)
				}
				if got := limitsOf(t, b); got != st.want {
					t.Errorf("PATCH %s: got limits %+v, want %+v", st.body, got, st.want)
				}
				code, b = e.doRaw(adminKey, "GET", o.path, "")
				if got := limitsOf(t, b); code != 200 || got != st.want {
					t.Errorf("GET after PATCH %s: got %d limits %+v, want %+v", st.body, code, got, st.want)
				}
			}
			for _, body := range []string{`{"limits":{"budget_daily_usd":null}}`, `{"limits":null}`} {
				code, b := e.doRaw(adminKey, "PATCH", o.path, body)
				if code != 400 || !strings.Contains(b, "may not be null") {
					t.Errorf("PATCH %s: got %d %s, want 400 refusing the null", body, code, b)
				}
			}
			code, b := e.doRaw(adminKey, "GET", o.path, "")
			if got := limitsOf(t, b); code != 200 || got.BudgetDailyUSD != 7.5 {
				t.Errorf("after the refused nulls: got %d limits %+v, want the daily budget kept at 7.5", code, got)
			}
		})
	}
	t.Run("tenant admin", func(t *testing.T) {
		// Lowering one limit keeps the rest, which are within the current ones.
		code, b := e.doRaw(ta.Secret, "PATCH", "/admin/tenants/t1", `{"limits":{"rpm":100}}`)
		if code != 200 || limitsOf(t, b).RPM != 100 || limitsOf(t, b).BudgetDailyUSD != 7.5 {
			t.Errorf("lowering the tenant's rpm: got %d %s, want 200 with the budgets kept", code, b)
		}
		code, b = e.doRaw(ta.Secret, "PATCH", "/admin/keys/"+kTA.ID, `{"limits":{"rpm":30}}`)
		if want := (tenancy.Limits{RPM: 30, TPM: 1000, MaxConcurrent: 4, BudgetDailyUSD: 5, BudgetMonthlyUSD: 50}); code != 200 || limitsOf(t, b) != want {
			t.Errorf("lowering a key's rpm: got %d %s, want 200 with %+v", code, b, want)
		}
		// Explicit 0 is unlimited, above its own key's: refused.
		if code, b := e.doRaw(ta.Secret, "PATCH", "/admin/keys/"+kTA.ID, `{"limits":{"budget_daily_usd":0}}`); code != 403 {
			t.Errorf("an unlimited daily budget: got %d %s, want 403", code, b)
		}
	})
}

// TestPatchRemovesExpiry: PATCH {"expires_at": null} makes a key never
// expire again, leaving the field out keeps the expiry, and a tenant admin
// whose own key expires may not lift a key's expiry past its own.
func TestPatchRemovesExpiry(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{})
	exp := e.now.Add(48 * time.Hour)
	k := e.key(KeyCreate{TenantID: "t1", Name: "k", ExpiresAt: &exp})
	path := "/admin/keys/" + k.ID
	expiry := func(t *testing.T) *time.Time {
		t.Helper()
		got, err := e.st.GetKey(context.Background(), k.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.ExpiresAt
	}
	if code, b := e.do(adminKey, "PATCH", path, KeyUpdate{Name: new("renamed")}); code != 200 || expiry(t) == nil {
		t.Fatalf("PATCH without expires_at: got %d %s and expiry %v, want 200 and the expiry kept", code, b, expiry(t))
	}
	code, b := e.doRaw(adminKey, "PATCH", path, `{"expires_at":null}`)
	if code != 200 || strings.Contains(b, "expires_at") || expiry(t) != nil {
		t.Fatalf("PATCH expires_at null: got %d %s and stored expiry %v, want 200 and no expiry", code, b, expiry(t))
	}
	if code, b := e.do(adminKey, "PATCH", path, KeyUpdate{ExpiresAt: ExpireAt(exp)}); code != 200 || expiry(t) == nil || !expiry(t).Equal(exp) {
		t.Fatalf("PATCH expires_at: got %d %s, want 200 and the expiry set again", code, b)
	}
	// A Go client removes it with NeverExpire.
	if code, b := e.do(adminKey, "PATCH", path, KeyUpdate{ExpiresAt: NeverExpire()}); code != 200 || expiry(t) != nil {
		t.Fatalf("PATCH NeverExpire: got %d %s, want 200 and no expiry", code, b)
	}

	ta := e.key(KeyCreate{TenantID: "t1", Name: "ta", Role: store.RoleTenantAdmin, ExpiresAt: &exp})
	own := e.key(KeyCreate{TenantID: "t1", Name: "own", ExpiresAt: &exp})
	if code, b := e.doRaw(ta.Secret, "PATCH", "/admin/keys/"+own.ID, `{"expires_at":null}`); code != 403 {
		t.Errorf("a tenant admin whose key expires removing an expiry: got %d %s, want 403", code, b)
	}
}
