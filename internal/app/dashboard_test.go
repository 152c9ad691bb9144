package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/sim"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// browserCheck is the path of the dashboard's Chromium driver, or a skip
// (a failure under SWITCHYARD_TEST_SERVICES=require, as in CI, which
// installs Chromium and playwright-core) when something it needs is missing.
func browserCheck(t *testing.T) (node, script string) {
	t.Helper()
	node, script = nodeScript(t, filepath.Join("..", "dashboard", "e2e"), "playwright-core")
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missingTool(t, "chromium not at "+chromium, "apt-get install chromium")
	}
	return node, script
}

// nodeScript is node and the check.mjs in dir, whose npm packages include
// module, or a skip (a failure under SWITCHYARD_TEST_SERVICES=require, as
// in CI, which runs npm ci there) when either is missing.
func nodeScript(t *testing.T, dir, module string) (node, script string) {
	t.Helper()
	dir, _ = filepath.Abs(dir)
	node, err := exec.LookPath("node")
	if err != nil {
		missingTool(t, "node not found", "install Node.js")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", module)); err != nil {
		missingTool(t, module+" not installed in "+dir, "npm ci --prefix "+dir)
	}
	return node, filepath.Join(dir, "check.mjs")
}

// missingTool skips the test for want of what, or fails it under
// SWITCHYARD_TEST_SERVICES=require; fix says how to get it.
func missingTool(t *testing.T, what, fix string) {
	t.Helper()
	if os.Getenv("SWITCHYARD_TEST_SERVICES") == "require" {
		t.Fatalf("%s (SWITCHYARD_TEST_SERVICES=require; .ci/run installs it)", what)
	}
	t.Skipf("%s, skipping (%s)", what, fix)
}

// dashboardView is what check.mjs prints.
type dashboardView struct {
	ConsoleErrors        []string
	CSP                  string
	BadKeyError          string
	AppHiddenAfterBadKey bool
	Whoami               string
	Totals               struct{ Requests, Cost, CacheHits, Errors string }
	Totals7d             string
	ExportName           string
	ExportLines          []string
	Tenants              []dashboardTenant
	ChartBars            int
	Routes               [][]string
	Storage              struct{ Local, Session int }
	StorageAfterSignOut  int
	TenantWhoami         string
	TenantView           []dashboardTenant
	AcmeKeys             []struct {
		ID, Requests string
		Budgets      []string
	}
	KeysTitle  string
	TenantKeys []string
}

type dashboardTenant struct {
	ID, Label, Requests, Errors, CacheHits, CachedInput, Cost string
	Budgets                                                   []struct{ Text, Cls string }
}

// TestDashboardInChromium serves real traffic through the gateway (two
// tenants, a cache hit, a refused key), then signs in to the dashboard in
// headless Chromium and checks what it shows: the totals, each tenant's
// requests, cache hits and budget spend, the cost chart and the routes;
// that a non-admin key is refused, the key is kept in the tab only, the
// page runs under its Content-Security-Policy without errors, and a
// tenant admin sees its own tenant alone.
func TestDashboardInChromium(t *testing.T) {
	node, script := browserCheck(t)
	simURL := startSim(t, sim.DefaultConfig())
	s := startTenantStack(t, simURL, sqliteExtra(t, "cache: {backend: memory}\n"))
	s.adminDo("POST", "/admin/tenants", admin.TenantCreate{ID: "acme", Name: "Acme Corp", Limits: tenancy.Limits{BudgetDailyUSD: 1}}, nil)
	acme := s.newKey("acme", admin.KeyCreate{Name: "app", Limits: tenancy.Limits{BudgetMonthlyUSD: 5}})
	acmeIdle := s.newKey("acme", admin.KeyCreate{Name: "batch"})
	globex := s.newKey("globex", admin.KeyCreate{Name: "app"})
	globexAdmin := s.newKey("globex", admin.KeyCreate{Name: "finance", Role: store.RoleTenantAdmin})

	// One long system prompt for both tenants: globex's request starts
	// like acme's, so the provider serves that prefix from its prompt cache.
	system := strings.Repeat("You are the railway company's helpful assistant. ", 100)
	ask := strings.Replace(tenChatBody, `"messages":[`, `"messages":[{"role":"system","content":"`+system+`"},`, 1)
	code, body, acmeH := chat(s.hc, s.base, acme.Secret, ask)
	if code != 200 {
		t.Fatalf("acme: %d %s", code, body)
	}
	s.waitStored("cheap", 1)
	if _, _, h := chat(s.hc, s.base, acme.Secret, ask); h.Get("X-Switchyard-Cache") != "hit" {
		t.Fatalf("acme's repeat: cache=%q, want hit", h.Get("X-Switchyard-Cache"))
	}
	code, body, globexH := chat(s.hc, s.base, globex.Secret, strings.Replace(ask, "hello there", "good morning", 1))
	if code != 200 {
		t.Fatalf("globex: %d %s", code, body)
	}
	// Both tenants rate their answer from small.
	for _, r := range []struct {
		key, id, q string
	}{{acme.Secret, acmeH.Get("X-Request-Id"), "0.5"}, {globex.Secret, globexH.Get("X-Request-Id"), "1"}} {
		if code, body, _ := s.send("/v1/feedback", `{"request_id":"`+r.id+`","quality":`+r.q+`}`, "Authorization", "Bearer "+r.key); code != 200 {
			t.Fatalf("feedback: %d %s", code, body)
		}
	}
	if code, _, _ := chat(s.hc, s.base, "sk-sy-wrong", tenChatBody); code != 401 {
		t.Fatalf("wrong key: %d, want 401", code)
	}
	var out struct{ Usage []admin.UsageRow }
	waitForT(t, "4 usage records", func() bool {
		s.adminDo("GET", "/admin/usage", nil, &out)
		return len(out.Usage) == 1 && out.Usage[0].Requests == 4
	}, func() string { return fmt.Sprintf("%+v", out.Usage) })

	shot := filepath.Join(t.TempDir(), "dashboard.png")
	if p := os.Getenv("SWITCHYARD_DASHBOARD_SCREENSHOT"); p != "" {
		shot = p
	}
	cmd := exec.Command(node, script, s.admin, canaryAdmin, globexAdmin.Secret, shot)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("check.mjs: %v\n%s", err, stderr.String())
	}
	var v dashboardView
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("check.mjs printed %q: %v", raw, err)
	}

	if len(v.ConsoleErrors) > 0 {
		t.Errorf("console errors (a CSP violation shows here): %q", v.ConsoleErrors)
	}
	if !strings.Contains(v.CSP, "default-src 'none'") || !strings.Contains(v.CSP, "script-src 'self'") {
		t.Errorf("Content-Security-Policy %q", v.CSP)
	}
	if !strings.Contains(v.BadKeyError, "not an admin key") || !v.AppHiddenAfterBadKey {
		t.Errorf("a user key: error %q, app hidden %v; want refused", v.BadKeyError, v.AppHiddenAfterBadKey)
	}
	if v.Whoami != "Global admin" {
		t.Errorf("whoami %q", v.Whoami)
	}
	if v.Totals.Requests != "4" || v.Totals.CacheHits != "1" || v.Totals.Errors != "1" || v.Totals7d != "4" {
		t.Errorf("totals %+v (7 days: %s), want 4 requests, 1 cache hit, 1 error", v.Totals, v.Totals7d)
	}
	rows := map[string]dashboardTenant{}
	for _, r := range v.Tenants {
		rows[r.ID] = r
	}
	if a := rows["acme"]; a.Requests != "2" || a.CacheHits != "1" || a.Label != "acme · Acme Corp" || len(a.Budgets) != 2 ||
		!strings.Contains(a.Budgets[0].Text, "of $1.00") || !strings.Contains(a.Budgets[1].Text, "no budget") {
		t.Errorf("acme row %+v: want 2 requests, 1 cache hit, spend of the $1.00 daily budget, no monthly budget", a)
	}
	if g := rows["globex"]; g.Requests != "1" || g.CacheHits != "0" || g.Cost == "$0.00" || g.CachedInput == "0" || g.CachedInput == "" {
		t.Errorf("globex row %+v: want 1 request with a cost and prompt-cache reads", g)
	}
	if a := rows["acme"]; a.CachedInput != "0" {
		t.Errorf("acme row %+v: want no prompt-cache reads (it wrote the prefix)", a)
	}
	if n := rows[""]; n.Requests != "1" || n.Errors != "1" {
		t.Errorf("no-tenant row %+v: want the refused request", n)
	}
	if v.ChartBars < 1 {
		t.Errorf("cost chart has %d bars, want at least 1", v.ChartBars)
	}
	if !slices.ContainsFunc(v.Routes, func(r []string) bool { return r[0] == "cheap" && r[1] == "small" && r[2] == "2" }) ||
		!slices.ContainsFunc(v.Routes, func(r []string) bool { return r[0] == "cheap" && r[1] == "(cache)" && r[3] == "1" }) {
		t.Errorf("routes %q: want cheap/small with 2 requests and cheap/(cache) with 1 hit", v.Routes)
	}
	if !slices.ContainsFunc(v.Routes, func(r []string) bool { return r[1] == "small" && r[6] == "0.75 (2)" }) ||
		!slices.ContainsFunc(v.Routes, func(r []string) bool { return r[1] == "(cache)" && r[6] == "–" }) {
		t.Errorf("routes %q: want small rated 0.75 by 2, the cache hits unrated", v.Routes)
	}
	if v.Storage.Local != 0 || v.Storage.Session != 1 || v.StorageAfterSignOut != 0 {
		t.Errorf("storage %+v, after sign-out %d: the key belongs in this tab's sessionStorage only", v.Storage, v.StorageAfterSignOut)
	}
	if v.TenantWhoami != "Tenant admin of globex" || len(v.TenantView) != 1 || v.TenantView[0].ID != "globex" {
		t.Errorf("tenant admin: %q sees %+v, want globex alone", v.TenantWhoami, v.TenantView)
	}
	if !strings.HasPrefix(v.ExportName, "switchyard-usage-") || !strings.HasSuffix(v.ExportName, ".csv") ||
		len(v.ExportLines) != 5 || !strings.HasPrefix(v.ExportLines[0], "request_id,time,tenant_id") {
		t.Errorf("CSV export %q: %d lines %q, want a header and the 4 records", v.ExportName, len(v.ExportLines), v.ExportLines)
	}
	keys := map[string]string{}
	for _, k := range v.AcmeKeys {
		keys[k.ID] = k.Requests
		if k.ID == acme.ID && (len(k.Budgets) != 2 || !strings.Contains(k.Budgets[1], "of $5.00")) {
			t.Errorf("acme's app key budgets %q, want the $5.00 monthly budget", k.Budgets)
		}
	}
	if v.KeysTitle != "Keys of acme" || len(keys) != 2 || keys[acme.ID] != "2" || keys[acmeIdle.ID] != "0" {
		t.Errorf("%q: %+v, want acme's two keys with 2 and 0 requests", v.KeysTitle, v.AcmeKeys)
	}
	if !slices.Contains(v.TenantKeys, globexAdmin.ID) || slices.Contains(v.TenantKeys, acme.ID) {
		t.Errorf("tenant admin of globex sees keys %q, want globex's only", v.TenantKeys)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
		t.Errorf("no screenshot: %v", err)
	}
}

// TestAdminListenerServesDashboard: the admin listener serves the
// dashboard beside the API, and / leads to it; the API still wants a key.
func TestAdminListenerServesDashboard(t *testing.T) {
	s := startTenantStack(t, startSim(t, sim.DefaultConfig()), sqliteExtra(t, ""))
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(s.admin + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/dashboard/" {
		t.Errorf("GET /: %d Location %q, want 302 /dashboard/", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = hc.Get(s.admin + "/dashboard/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("GET /dashboard/: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	resp, err = hc.Get(s.admin + "/admin/tenants")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /admin/tenants without a key: %d, want 401", resp.StatusCode)
	}
}
