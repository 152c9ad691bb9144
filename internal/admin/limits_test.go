package admin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// TestLimitsRefusedNameTheRule: a limit or budget out of range is a 400
// whose message names the field and the rule it breaks, for keys and
// tenants, created and changed.
func TestLimitsRefusedNameTheRule(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{})
	k := e.key(KeyCreate{TenantID: "t1", Name: "k"})
	for _, tt := range []struct {
		name   string
		limits string
		want   string
	}{
		{"negative rpm", `{"rpm":-1}`, "limits.rpm must be ≥ 0"},
		{"negative max_concurrent", `{"max_concurrent":-2}`, "limits.max_concurrent must be ≥ 0"},
		{"negative budget", `{"budget_daily_usd":-0.5}`, "limits.budget_daily_usd must be ≥ 0"},
		{"budget over the cap", `{"budget_monthly_usd":2e9}`, "limits.budget_monthly_usd must be at most 1000000000"},
		{"budget below a nano-dollar", `{"budget_daily_usd":1e-10}`, "limits.budget_daily_usd must be 0 (unlimited) or at least 0.000000001"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, req := range []struct{ method, path, body string }{
				{"POST", "/admin/tenants", `{"id":"new","limits":` + tt.limits + `}`},
				{"PATCH", "/admin/tenants/t1", `{"limits":` + tt.limits + `}`},
				{"POST", "/admin/keys", `{"tenant_id":"t1","limits":` + tt.limits + `}`},
				{"PATCH", "/admin/keys/" + k.ID, `{"limits":` + tt.limits + `}`},
			} {
				code, b := e.doRaw(adminKey, req.method, req.path, req.body)
				var out struct {
					Error struct{ Code, Message string }
				}
				json.Unmarshal([]byte(b), &out)
				if code != 400 || out.Error.Code != "invalid_request" || !strings.Contains(out.Error.Message, tt.want) {
					t.Errorf("%s %s: got %d %s, want 400 saying %q", req.method, req.path, code, b, tt.want)
				}
			}
		})
	}
	// The bounds themselves are budgets.
	if code, b := e.doRaw(adminKey, "POST", "/admin/tenants", `{"id":"rich","limits":{"budget_monthly_usd":1e9}}`); code != 201 {
		t.Errorf("a budget of 1e9: got %d %s, want 201", code, b)
	}
	if code, b := e.doRaw(adminKey, "POST", "/admin/tenants", `{"id":"poor","limits":{"budget_daily_usd":1e-9}}`); code != 201 {
		t.Errorf("a budget of 1e-9: got %d %s, want 201", code, b)
	}
}
