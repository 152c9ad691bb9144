package dashboard_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/dashboard"
)

// Long names, as the admin API allows them (200 characters, no spaces).
var (
	longTenant = "Supercalifragilisticexpialidocious_Holdings_" + strings.Repeat("International_Limited_", 8)[:156]
	longKey    = strings.Repeat("a-key-name-without-any-break-", 7)[:200]
)

// fakeAdmin answers the admin API calls the dashboard makes with two
// tenants, one of them long-named and over its daily budget, and large
// figures, as a busy gateway would.
func fakeAdmin(t *testing.T) http.Handler {
	t.Helper()
	usage := func(r *http.Request) any {
		q := r.URL.Query()
		row := map[string]any{"requests": 1234567, "errors": 12345, "cache_hits": 123456, "input_tokens": 987654321,
			"cached_input_tokens": 123456789, "output_tokens": 98765432, "cost_usd": 12345.678901, "avg_latency_ms": 1234.5, "rated": 0, "avg_quality": nil}
		with := func(k, v string) map[string]any {
			m := map[string]any{k: v}
			for k, v := range row {
				m[k] = v
			}
			return m
		}
		switch g := q.Get("group_by"); {
		case g == "tenant":
			return []any{with("tenant_id", "longname"), with("tenant_id", "beta"), with("tenant_id", "")}
		case g == "key":
			return []any{with("key_id", "key_zurmka2ogaywu5l3c645jtkyh4")}
		case strings.Contains(g, "route"):
			r := with("route", "cheap")
			r["deployment"] = "small"
			return []any{r}
		}
		return []any{}
	}
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /admin/whoami", func(w http.ResponseWriter, r *http.Request) { reply(w, map[string]any{"role": "global_admin"}) })
	mux.HandleFunc("GET /admin/tenants", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"tenants": []any{
			map[string]any{"id": "longname", "name": longTenant, "limits": map[string]any{"budget_daily_usd": 10000, "budget_monthly_usd": 1000000}},
			map[string]any{"id": "beta", "name": "<img src=x onerror=alert(1)><script>alert(2)</script>", "limits": map[string]any{}},
		}})
	})
	mux.HandleFunc("GET /admin/keys", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"keys": []any{map[string]any{"id": "key_zurmka2ogaywu5l3c645jtkyh4", "tenant_id": "longname", "name": longKey,
			"prefix": "sk-sy-ymmv", "role": "tenant_admin", "limits": map[string]any{"budget_daily_usd": 10000, "budget_monthly_usd": 1000000}}}})
	})
	mux.HandleFunc("GET /admin/usage", func(w http.ResponseWriter, r *http.Request) { reply(w, map[string]any{"usage": usage(r)}) })
	mux.Handle(dashboard.Prefix, dashboard.Handler())
	return mux
}

// layoutView is what layout.mjs prints.
type layoutView struct {
	ConsoleErrors []string
	Tenants, Keys struct {
		Fits        bool
		WindowWidth int
		Headings    []struct {
			Text  string
			Right int
		}
	}
	Labels []struct {
		Text, Title string
		Cut         bool
		Width       int
	}
}

// TestLayoutInChromium: in a 1400 px window, a 200-character tenant or
// key name without spaces is cut with an ellipsis (whole in its title),
// so the tenants' and keys' tables fit the window and their cost and
// budget columns stay in view, also with large figures.
func TestLayoutInChromium(t *testing.T) {
	node, script := layoutCheck(t)
	srv := httptest.NewServer(fakeAdmin(t))
	defer srv.Close()
	shot := filepath.Join(t.TempDir(), "layout.png")
	if p := os.Getenv("SWITCHYARD_DASHBOARD_SCREENSHOT"); p != "" {
		shot = p
	}
	cmd := exec.Command(node, script, srv.URL, "adm-key", "1400", "longname", shot)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("layout.mjs: %v\n%s", err, stderr.String())
	}
	var v layoutView
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("layout.mjs printed %q: %v", raw, err)
	}
	if len(v.ConsoleErrors) > 0 {
		t.Errorf("console errors: %q", v.ConsoleErrors)
	}
	for name, tbl := range map[string]struct {
		Fits        bool
		WindowWidth int
		Headings    []struct {
			Text  string
			Right int
		}
	}{"tenants": v.Tenants, "keys": v.Keys} {
		if !tbl.Fits {
			t.Errorf("%s table: wider than its box, want it to fit the 1400 px window", name)
		}
		if n := len(tbl.Headings); n == 0 || !strings.HasPrefix(tbl.Headings[n-1].Text, "Monthly budget") {
			t.Fatalf("%s table: headings %+v, want the monthly budget last", name, tbl.Headings)
		}
		for _, h := range tbl.Headings {
			if h.Right > tbl.WindowWidth {
				t.Errorf("%s table: column %q ends at %d px, past the window's %d", name, h.Text, h.Right, tbl.WindowWidth)
			}
		}
	}
	cut := map[string]bool{}
	for _, l := range v.Labels {
		if l.Title != l.Text {
			t.Errorf("label %.40q has title %.40q, want the whole name", l.Text, l.Title)
		}
		if l.Cut {
			cut[l.Text] = true
		}
	}
	if !cut["longname · "+longTenant] || !cut[longKey] {
		t.Errorf("labels %+v: want the long tenant and key names cut", v.Labels)
	}
}

// layoutCheck is node and layout.mjs, or a skip (a failure under
// SWITCHYARD_TEST_SERVICES=require, as in CI, which installs them) when
// node, playwright-core or Chromium is missing.
func layoutCheck(t *testing.T) (node, script string) {
	t.Helper()
	missing := func(what, fix string) {
		t.Helper()
		if os.Getenv("SWITCHYARD_TEST_SERVICES") == "require" {
			t.Fatalf("%s (SWITCHYARD_TEST_SERVICES=require; .ci/run installs it)", what)
		}
		t.Skipf("%s, skipping (%s)", what, fix)
	}
	dir, _ := filepath.Abs("e2e")
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not found", "install Node.js")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		missing("playwright-core not installed in "+dir, "npm ci --prefix "+dir)
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("chromium not at "+chromium, "apt-get install chromium")
	}
	return node, filepath.Join(dir, "layout.mjs")
}
