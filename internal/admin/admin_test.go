package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const adminKey = "adm-canary-0123456789"

type env struct {
	t   *testing.T
	st  store.Store
	srv *httptest.Server
	h   *Handler // newEnv's, behind srv
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	e.h = New(Options{Store: st, AdminKey: adminKey, Now: func() time.Time { return e.now }})
	srv := httptest.NewServer(e.h)
	t.Cleanup(func() { srv.Close(); st.Close() })
	e.srv = srv
	return e
}

// do sends a request with key and returns the status and body.
func (e *env) do(key, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (e *env) tenant(id string, l tenancy.Limits) {
	e.t.Helper()
	if code, b := e.do(adminKey, "POST", "/admin/tenants", TenantCreate{ID: id, Limits: l}); code != 201 {
		e.t.Fatalf("create tenant: got %d %s, want 201", code, b)
	}
}

// key creates a key as the global admin and returns its view with secret.
func (e *env) key(in KeyCreate) KeyView {
	e.t.Helper()
	code, b := e.do(adminKey, "POST", "/admin/keys", in)
	if code != 201 {
		e.t.Fatalf("create key: got %d %s, want 201", code, b)
	}
	var v KeyView
	if err := json.Unmarshal(b, &v); err != nil {
		e.t.Fatal(err)
	}
	return v
}

// TestAuthorizationMatrix calls every route of Routes() as every role,
// against an object of the caller's own tenant and of another, and checks
// that exactly the cells the route table allows answer 2xx.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{RPM: 1000})
	e.tenant("t2", tenancy.Limits{RPM: 1000})
	ta := e.key(KeyCreate{TenantID: "t1", Role: store.RoleTenantAdmin, Name: "ta"})
	user := e.key(KeyCreate{TenantID: "t1", Name: "user"})
	revokedTA := e.key(KeyCreate{TenantID: "t1", Role: store.RoleTenantAdmin})
	if code, _ := e.do(adminKey, "POST", "/admin/keys/"+revokedTA.ID+"/revoke", nil); code != 200 {
		t.Fatal("revoke")
	}
	roles := []struct {
		name   string
		key    string
		global bool
		ta     bool
	}{
		{name: "global", key: adminKey, global: true},
		{name: "tenant_admin", key: ta.Secret, ta: true},
		{name: "user", key: user.Secret},
		{name: "revoked_tenant_admin", key: revokedTA.Secret},
		{name: "no_key"},
		{name: "wrong_key", key: "sk-sy-nope"},
	}
	n := 0
	for _, rt := range Routes() {
		for _, role := range roles {
			for _, own := range []bool{true, false} {
				tenant := "t2"
				if own {
					tenant = "t1"
				}
				name := fmt.Sprintf("%s %s/%s/own=%v", rt.Method, rt.Pattern, role.name, own)
				t.Run(name, func(t *testing.T) {
					n++
					path, body := e.requestFor(rt, tenant, n)
					// Each case is a sign-in of its own: the wrong and
					// revoked keys' failures would lock the address out.
					defer e.h.signin.reset()
					code, b := e.do(role.key, rt.Method, path, body)
					allowed := role.global && rt.Access.Global || role.ta && rt.Access.TenantAdmin && (own || rt.Object == "")
					if got := code >= 200 && code < 300; got != allowed {
						t.Fatalf("got %d %s, want 2xx=%v", code, b, allowed)
					}
					if !allowed && code != 401 && code != 403 && code != 404 {
						t.Errorf("got %d, want 401, 403 or 404", code)
					}
					if strings.Contains(string(b), adminKey) {
						t.Errorf("got the admin key in a response")
					}
				})
			}
		}
	}
}

// requestFor builds a valid request for rt against tenant, creating any
// object it acts on so destructive calls do not interfere.
func (e *env) requestFor(rt Route, tenant string, n int) (string, any) {
	id := func() string { return e.key(KeyCreate{TenantID: tenant, Name: "target"}).ID }
	switch rt.Method + " " + rt.Pattern {
	case "POST /admin/tenants":
		return rt.Pattern, TenantCreate{ID: fmt.Sprintf("new%d", n)}
	case "GET /admin/tenants/{id}":
		return "/admin/tenants/" + tenant, nil
	case "PATCH /admin/tenants/{id}":
		return "/admin/tenants/" + tenant, TenantUpdate{Limits: &LimitsPatch{RPM: new(1000 - n)}}
	case "GET /admin/keys", "GET /admin/usage", "GET /admin/usage/export", "DELETE /admin/cache", "DELETE /admin/learning":
		return rt.Pattern + "?tenant_id=" + tenant, nil
	case "POST /admin/keys":
		return rt.Pattern, KeyCreate{TenantID: tenant, Name: "new"}
	case "GET /admin/keys/{id}", "POST /admin/keys/{id}/revoke", "POST /admin/keys/{id}/rotate":
		return strings.Replace(rt.Pattern, "{id}", id(), 1), nil
	case "PATCH /admin/keys/{id}":
		name := "renamed"
		return strings.Replace(rt.Pattern, "{id}", id(), 1), KeyUpdate{Name: &name}
	case "GET /admin/whoami", "GET /admin/tenants":
		return rt.Pattern, nil
	}
	e.t.Fatalf("no request for route %s %s: add one", rt.Method, rt.Pattern)
	return "", nil
}

func TestKeyScopeWithinIssuer(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{})
	exp := e.now.Add(24 * time.Hour)
	ta := e.key(KeyCreate{TenantID: "t1", Role: store.RoleTenantAdmin, AllowedRoutes: []string{"a", "b"},
		Limits: tenancy.Limits{RPM: 100, TPM: 1000, MaxConcurrent: 5, BudgetDailyUSD: 10, BudgetMonthlyUSD: 100}, ExpiresAt: &exp})
	later := exp.Add(time.Hour)
	tests := []struct {
		name string
		in   KeyCreate
		code int
	}{
		{name: "inherit", in: KeyCreate{}, code: 201},
		{name: "lower", in: KeyCreate{Limits: tenancy.Limits{RPM: 10}, AllowedRoutes: []string{"a"}}, code: 201},
		{name: "rpm above", in: KeyCreate{Limits: tenancy.Limits{RPM: 101}}, code: 403},
		{name: "tpm above", in: KeyCreate{Limits: tenancy.Limits{TPM: 1001}}, code: 403},
		{name: "concurrency above", in: KeyCreate{Limits: tenancy.Limits{MaxConcurrent: 6}}, code: 403},
		{name: "daily budget above", in: KeyCreate{Limits: tenancy.Limits{BudgetDailyUSD: 10.01}}, code: 403},
		{name: "monthly budget above", in: KeyCreate{Limits: tenancy.Limits{BudgetMonthlyUSD: 101}}, code: 403},
		{name: "route outside", in: KeyCreate{AllowedRoutes: []string{"a", "c"}}, code: 403},
		{name: "wildcard route", in: KeyCreate{AllowedRoutes: []string{"*"}}, code: 403},
		{name: "later expiry", in: KeyCreate{ExpiresAt: &later}, code: 403},
		{name: "other tenant", in: KeyCreate{TenantID: "t2"}, code: 404},
		{name: "bad role", in: KeyCreate{Role: "root"}, code: 400},
		{name: "empty route name", in: KeyCreate{AllowedRoutes: []string{"a", ""}}, code: 400},
		{name: "blank route name", in: KeyCreate{AllowedRoutes: []string{" "}}, code: 400},
		{name: "route name with spaces around it", in: KeyCreate{AllowedRoutes: []string{" a"}}, code: 400},
		{name: "tier other than own", in: KeyCreate{Tier: "pro"}, code: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b := e.do(ta.Secret, "POST", "/admin/keys", tt.in)
			if code != tt.code {
				t.Fatalf("got %d %s, want %d", code, b, tt.code)
			}
			if code == 201 {
				var v KeyView
				json.Unmarshal(b, &v)
				checkWithin(t, v, ta, exp)
			}
		})
	}
	t.Run("empty route name from the global admin", func(t *testing.T) {
		code, b := e.do(adminKey, "POST", "/admin/keys", KeyCreate{TenantID: "t1", AllowedRoutes: []string{"a", ""}})
		if code != 400 || !strings.Contains(string(b), "allowed_routes[1]") {
			t.Errorf("got %d %s, want 400 naming allowed_routes[1]", code, b)
		}
		code, b = e.do(adminKey, "PATCH", "/admin/keys/"+ta.ID, KeyUpdate{AllowedRoutes: &[]string{""}})
		if code != 400 {
			t.Errorf("update: got %d %s, want 400", code, b)
		}
	})
	t.Run("raise own key", func(t *testing.T) {
		if code, b := e.do(ta.Secret, "PATCH", "/admin/keys/"+ta.ID, KeyUpdate{Limits: &LimitsPatch{RPM: new(1000)}}); code != 403 {
			t.Errorf("got %d %s, want 403", code, b)
		}
	})
	t.Run("raise tenant limits", func(t *testing.T) {
		if code, b := e.do(adminKey, "PATCH", "/admin/tenants/t1", TenantUpdate{Limits: &LimitsPatch{RPM: new(50)}}); code != 200 {
			t.Fatalf("got %d %s, want the global admin to set limits", code, b)
		}
		if code, b := e.do(ta.Secret, "PATCH", "/admin/tenants/t1", TenantUpdate{Limits: &LimitsPatch{RPM: new(60)}}); code != 403 {
			t.Errorf("got %d %s, want 403 raising", code, b)
		}
		if code, b := e.do(ta.Secret, "PATCH", "/admin/tenants/t1", TenantUpdate{Limits: &LimitsPatch{RPM: new(0)}}); code != 403 {
			t.Errorf("got %d %s, want 403 for unlimited", code, b)
		}
		if code, b := e.do(ta.Secret, "PATCH", "/admin/tenants/t1", TenantUpdate{Limits: &LimitsPatch{RPM: new(40)}}); code != 200 {
			t.Errorf("got %d %s, want 200 lowering", code, b)
		}
	})
	t.Run("rename tenant", func(t *testing.T) {
		name := "x"
		if code, _ := e.do(ta.Secret, "PATCH", "/admin/tenants/t1", TenantUpdate{Name: &name}); code != 403 {
			t.Errorf("got %d, want 403", code)
		}
		dis := true
		if code, _ := e.do(ta.Secret, "PATCH", "/admin/tenants/t1", TenantUpdate{Disabled: &dis}); code != 403 {
			t.Errorf("got %d, want 403", code)
		}
	})
	// Random requests: whatever is accepted lies within the issuer.
	rng := rand.New(rand.NewPCG(1, 2))
	routes := []string{"a", "b", "c", "*"}
	for i := range 150 {
		in := KeyCreate{Limits: tenancy.Limits{RPM: rng.IntN(150), TPM: rng.IntN(1500), MaxConcurrent: rng.IntN(8),
			BudgetDailyUSD: float64(rng.IntN(15)), BudgetMonthlyUSD: float64(rng.IntN(150))}}
		for _, r := range routes {
			if rng.IntN(3) == 0 {
				in.AllowedRoutes = append(in.AllowedRoutes, r)
			}
		}
		if rng.IntN(2) == 0 {
			x := e.now.Add(time.Duration(rng.IntN(48)+1) * time.Hour)
			in.ExpiresAt = &x
		}
		code, b := e.do(ta.Secret, "POST", "/admin/keys", in)
		if code == 201 {
			var v KeyView
			json.Unmarshal(b, &v)
			checkWithin(t, v, ta, exp)
		} else if code != 403 {
			t.Errorf("request %d: got %d %s, want 201 or 403", i, code, b)
		}
	}
}

func checkWithin(t *testing.T, v, is KeyView, exp time.Time) {
	t.Helper()
	l, m := v.Limits, is.Limits
	if l.RPM < 1 || l.RPM > m.RPM || l.TPM < 1 || l.TPM > m.TPM || l.MaxConcurrent < 1 || l.MaxConcurrent > m.MaxConcurrent ||
		l.BudgetDailyUSD <= 0 || l.BudgetDailyUSD > m.BudgetDailyUSD || l.BudgetMonthlyUSD <= 0 || l.BudgetMonthlyUSD > m.BudgetMonthlyUSD {
		t.Errorf("got limits %+v, want within the issuer's %+v", l, m)
	}
	if len(v.AllowedRoutes) == 0 {
		t.Errorf("got no route restriction, want a subset of %v", is.AllowedRoutes)
	}
	for _, r := range v.AllowedRoutes {
		if !slices.Contains(is.AllowedRoutes, r) {
			t.Errorf("got route %q, want a subset of %v", r, is.AllowedRoutes)
		}
	}
	if v.ExpiresAt == nil || v.ExpiresAt.After(exp) {
		t.Errorf("got expiry %v, want at most %v", v.ExpiresAt, exp)
	}
}

func TestKeyLifecycle(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{})
	v := e.key(KeyCreate{TenantID: "t1", Name: "svc", Tier: "gold", Metadata: map[string]string{"team": "a"}})
	if !strings.HasPrefix(v.Secret, SecretPrefix) || len(v.Secret) < 30 || !strings.HasPrefix(v.Secret, v.Prefix) {
		t.Fatalf("got secret %q prefix %q, want sk-sy- and 160 random bits", v.Secret, v.Prefix)
	}
	k, err := e.st.GetKey(context.Background(), v.ID)
	if err != nil || k.Hash != auth.Hash(v.Secret) {
		t.Fatalf("got stored hash mismatch (err %v), want SHA-256 of the secret", err)
	}
	code, b := e.do(adminKey, "GET", "/admin/keys?tenant_id=t1", nil)
	if code != 200 || leaks(b, v.Secret) {
		t.Errorf("got %d %s, want the list without the secret or its hash", code, b)
	}
	var list struct{ Keys []KeyView }
	if json.Unmarshal(b, &list); len(list.Keys) != 1 || list.Keys[0].ID != v.ID {
		t.Errorf("got keys %+v, want only %s", list.Keys, v.ID)
	}
	for _, path := range []string{"/admin/keys", "/admin/keys/" + v.ID} {
		if code, b := e.do(adminKey, "GET", path, nil); code != 200 || leaks(b, v.Secret) {
			t.Errorf("GET %s: got %d %s, want no secret or hash", path, code, b)
		}
	}
	code, b = e.do(adminKey, "POST", "/admin/keys/"+v.ID+"/rotate", nil)
	var rot KeyView
	json.Unmarshal(b, &rot)
	if code != 200 || rot.Secret == "" || rot.Secret == v.Secret || rot.Tier != "gold" || rot.ID == v.ID {
		t.Fatalf("got %d %+v, want a new key with the same settings", code, rot)
	}
	old, _ := e.st.GetKey(context.Background(), v.ID)
	if old.RevokedAt == nil {
		t.Errorf("got the old key unrevoked after rotation, want it revoked")
	}
}

// leaks reports whether body shows secret or any encoding of its hash.
func leaks(body []byte, secret string) bool {
	h := auth.Hash(secret)
	b64, _ := json.Marshal(h[:]) // how encoding/json would print a []byte
	for _, s := range []string{secret, fmt.Sprintf("%x", h), strings.Trim(string(b64), `"`), fmt.Sprint(h)} {
		if strings.Contains(string(body), s) {
			return true
		}
	}
	return false
}

// TestTenantLimitsAreTenantColumns checks that tenant limits and tier live
// on the tenant row (no key row appears) and that PATCH changes them.
func TestTenantLimitsAreTenantColumns(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	code, b := e.do(adminKey, "POST", "/admin/tenants", TenantCreate{ID: "t1", Tier: "gold", Limits: tenancy.Limits{RPM: 7, BudgetDailyUSD: 3}})
	if code != 201 {
		t.Fatalf("create: got %d %s, want 201", code, b)
	}
	got, err := e.st.GetTenant(ctx, "t1")
	if err != nil || got.RPM != 7 || got.BudgetDailyUSD != 3 || got.Tier != "gold" {
		t.Errorf("got stored tenant %+v (%v), want rpm 7, daily $3, tier gold", got, err)
	}
	if ks, err := e.st.ListKeys(ctx, "t1"); err != nil || len(ks) != 0 {
		t.Errorf("got %d keys (%v), want none: limits are not a key row", len(ks), err)
	}
	ta := e.key(KeyCreate{TenantID: "t1", Role: store.RoleTenantAdmin})
	tests := []struct {
		name   string
		key    string
		body   string
		status int
		want   TenantView
	}{
		{name: "tenant admin lowers", key: ta.Secret, body: `{"limits":{"rpm":5,"budget_daily_usd":2}}`, status: 200,
			want: TenantView{ID: "t1", Name: "t1", Tier: "gold", Limits: tenancy.Limits{RPM: 5, BudgetDailyUSD: 2}}},
		{name: "tenant admin may not raise", key: ta.Secret, body: `{"limits":{"rpm":50,"budget_daily_usd":2}}`, status: 403},
		{name: "tenant admin may not re-tier", key: ta.Secret, body: `{"tier":"platinum"}`, status: 403},
		{name: "global admin re-tiers and raises tpm, keeping the other limits", key: adminKey, body: `{"tier":"silver","limits":{"tpm":900}}`, status: 200,
			want: TenantView{ID: "t1", Name: "t1", Tier: "silver", Limits: tenancy.Limits{RPM: 5, TPM: 900, BudgetDailyUSD: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b := e.do(tt.key, "PATCH", "/admin/tenants/t1", json.RawMessage(tt.body))
			if code != tt.status {
				t.Fatalf("got %d %s, want %d", code, b, tt.status)
			}
			if code != 200 {
				return
			}
			var v TenantView
			json.Unmarshal(b, &v)
			v.Created = time.Time{}
			if v != tt.want {
				t.Errorf("got %+v, want %+v", v, tt.want)
			}
			st, _ := e.st.GetTenant(ctx, "t1")
			if tenancy.TenantLimits(st) != tt.want.Limits || st.Tier != tt.want.Tier {
				t.Errorf("got stored %+v, want limits %+v tier %s", st, tt.want.Limits, tt.want.Tier)
			}
		})
	}
}

func TestUsageScopedAndExported(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{})
	e.tenant("t2", tenancy.Limits{})
	ta := e.key(KeyCreate{TenantID: "t1", Role: store.RoleTenantAdmin})
	base := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	var recs []store.UsageRecord
	for i := range 6 {
		recs = append(recs, store.UsageRecord{RequestID: fmt.Sprintf("r%d", i), Time: base.Add(time.Duration(i) * 30 * time.Minute),
			TenantID: []string{"t1", "t2"}[i%2], KeyID: "k", Route: "auto", Deployment: "d", Model: "m", Status: 200, InputTokens: 10, OutputTokens: 1, CostUSD: 0.5})
	}
	if err := e.st.InsertUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	code, b := e.do(ta.Secret, "GET", "/admin/usage?group_by=tenant,route&bucket=1h&from=2030-01-01T00:00:00Z&to=2030-01-02T00:00:00Z", nil)
	var out struct{ Usage []UsageRow }
	json.Unmarshal(b, &out)
	total := int64(0)
	for _, r := range out.Usage {
		if r.TenantID != "t1" {
			t.Errorf("got a row of tenant %q, want only t1", r.TenantID)
		}
		total += r.Requests
	}
	if code != 200 || total != 3 || len(out.Usage) != 3 {
		t.Errorf("got %d, %d rows totalling %d, want 200, 3 hourly rows totalling 3: %s", code, len(out.Usage), total, b)
	}
	// An answer of more rows than maxUsageRows is refused, not built in
	// memory (found by audit U).
	defer func(n int) { maxUsageRows = n }(maxUsageRows)
	maxUsageRows = 2
	if code, b := e.do(ta.Secret, "GET", "/admin/usage?bucket=1h", nil); code != 400 || !strings.Contains(string(b), "more than 2 rows") {
		t.Errorf("3 rows over a limit of 2: got %d %s, want 400 naming the limit", code, b)
	}
	if code, b := e.do(ta.Secret, "GET", "/admin/usage?bucket=2h", nil); code != 200 {
		t.Errorf("2 rows within a limit of 2: got %d %s, want 200", code, b)
	}
	code, b = e.do(adminKey, "GET", "/admin/usage/export?format=csv", nil)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if code != 200 || len(lines) != 7 || !strings.HasPrefix(lines[0], "request_id,time,tenant_id") {
		t.Errorf("got %d with %d lines, want a header and 6 records", code, len(lines))
	}
	code, b = e.do(ta.Secret, "GET", "/admin/usage/export?format=jsonl", nil)
	lines = strings.Split(strings.TrimSpace(string(b)), "\n")
	var rec store.UsageRecord
	if code != 200 || len(lines) != 3 || json.Unmarshal([]byte(lines[0]), &rec) != nil || rec.TenantID != "t1" {
		t.Errorf("got %d %q, want 3 JSON lines of tenant t1", code, b)
	}
	if code, _ := e.do(ta.Secret, "GET", "/admin/usage?bucket=1ms", nil); code != 400 {
		t.Errorf("got %d for a sub-second bucket, want 400", code)
	}
}

// TestUsageRowsKeepEmptyGroups checks that a grouped dimension is present
// in every row even when empty: unauthenticated requests (tenant "") must
// not read as "not grouped by tenant", or a client decoding into a reused
// slice keeps the previous row's tenant and counts it twice.
func TestUsageRowsKeepEmptyGroups(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first := []store.UsageRecord{{RequestID: "a", Time: e.now, TenantID: "t1", KeyID: "k1", Status: 200}}
	if err := e.st.InsertUsage(ctx, first); err != nil {
		t.Fatal(err)
	}
	var out struct{ Usage []UsageRow }
	_, b := e.do(adminKey, "GET", "/admin/usage?group_by=tenant,key", nil)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	more := []store.UsageRecord{
		{RequestID: "b", Time: e.now, Status: 401, ErrorCode: "invalid_api_key"},
		{RequestID: "c", Time: e.now, TenantID: "t1", KeyID: "k1", Status: 200},
	}
	if err := e.st.InsertUsage(ctx, more); err != nil {
		t.Fatal(err)
	}
	_, b = e.do(adminKey, "GET", "/admin/usage?group_by=tenant,key", nil)
	if !strings.Contains(string(b), `"tenant_id":""`) || !strings.Contains(string(b), `"key_id":""`) {
		t.Errorf("got %s, want the unauthenticated row with tenant_id and key_id \"\"", b)
	}
	if err := json.Unmarshal(b, &out); err != nil { // reused on purpose
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range out.Usage {
		got[r.TenantID+"/"+r.KeyID] += r.Requests
	}
	want := map[string]int64{"/": 1, "t1/k1": 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	_, b = e.do(adminKey, "GET", "/admin/usage?group_by=route", nil)
	if strings.Contains(string(b), "tenant_id") {
		t.Errorf("got %s, want no tenant_id when not grouped by tenant", b)
	}
}

// failingExport is a store whose export sends after records and then fails.
type failingExport struct {
	store.Store
	after int
}

func (f failingExport) ExportUsage(ctx context.Context, from, to time.Time, tenant string, fn func(store.UsageRecord) error) error {
	for i := range f.after {
		if err := fn(store.UsageRecord{RequestID: fmt.Sprintf("r%d", i), TenantID: "t1", Status: 200}); err != nil {
			return err
		}
	}
	return errors.New("disk on fire")
}

// TestUsageExportFailureIsVisible: an export the store cannot finish must
// not read as a complete one: with nothing sent, the 503 store_unavailable
// JSON error of every other admin endpoint whose store fails (it was a 500
// internal_error, which the dashboard could not tell from a bug; found by
// audit AA); with part sent, a broken transfer (the client's read fails),
// not a clean EOF.
func TestUsageExportFailureIsVisible(t *testing.T) {
	for _, format := range []string{"csv", "jsonl"} {
		for _, after := range []int{0, 3, 2000} {
			t.Run(fmt.Sprintf("%s after %d", format, after), func(t *testing.T) {
				st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"))
				if err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewServer(New(Options{Store: failingExport{Store: st, after: after}, AdminKey: adminKey}))
				t.Cleanup(func() { srv.Close(); st.Close() })
				req, _ := http.NewRequest("GET", srv.URL+"/admin/usage/export?format="+format, nil)
				req.Header.Set("Authorization", "Bearer "+adminKey)
				resp, err := srv.Client().Do(req)
				if err != nil {
					if after == 0 {
						t.Fatal(err)
					}
					return // broken before the headers: visible
				}
				defer resp.Body.Close()
				b, rerr := io.ReadAll(resp.Body)
				switch {
				case resp.StatusCode == http.StatusServiceUnavailable:
					if !strings.Contains(string(b), `"code":"store_unavailable","message":"the store is unreachable"`) || strings.Contains(string(b), "disk on fire") {
						t.Errorf("got 503 %s, want the store_unavailable JSON error, which does not leak the cause", b)
					}
				case after == 0:
					t.Errorf("got %d %q with nothing exported, want 503", resp.StatusCode, b)
				case rerr == nil:
					t.Errorf("got a complete %d body %q, want a 503 or the transfer broken", resp.StatusCode, b)
				}
			})
		}
	}
}

// TestUnknownPathsAndMethodsAreJSON: the admin API answers an unknown path
// with a JSON 404, and a known path's wrong method with a JSON 405 naming
// the methods it takes, in its own error format.
func TestUnknownPathsAndMethodsAreJSON(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ method, path, allow string }{
		{"GET", "/admin/nosuch", ""},
		{"DELETE", "/admin/keys", "GET, HEAD, POST"},
		{"PUT", "/admin/keys/k1", "GET, HEAD, PATCH"},
		{"GET", "/admin/keys/k1/revoke", "POST"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, e.srv.URL+tt.path, nil)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := 404
		if tt.allow != "" {
			want = 405
		}
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if resp.StatusCode != want || resp.Header.Get("Allow") != tt.allow || json.Unmarshal(b, &body) != nil || body.Error.Message == "" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: got %d Allow %q %s, want %d Allow %q and a JSON error", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Allow"), b, want, tt.allow)
		}
	}
}
