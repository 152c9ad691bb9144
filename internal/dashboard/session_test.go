package dashboard_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/dashboard"
)

// fakeGateway is an admin API that a test steers through /test/…: a key
// that is revoked (every call answered 401, counted), a store that is
// down (503 store_unavailable; the tenant admin key's check too), and
// answers held until released (the 30 days' usage, or acme's keys).
type fakeGateway struct {
	mu        sync.Mutex
	revoked   bool
	down      bool
	hold      string // "30d" or "acme"
	held      int
	release   chan struct{}
	refusals  int // calls answered 401 since the key was revoked
	sentAfter int // calls that came while the key was revoked
}

func newFakeGateway() *fakeGateway { return &fakeGateway{release: make(chan struct{})} }

func (g *fakeGateway) handler() http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	apiErr := func(w http.ResponseWriter, status int, code, msg string) {
		reply(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
	}
	mux.HandleFunc("POST /test/{what}", func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		switch r.PathValue("what") {
		case "revoke":
			g.revoked = true
		case "unrevoke":
			g.revoked = false
		case "down":
			g.down = true
		case "up":
			g.down = false
		case "hold":
			g.hold = r.URL.Query().Get("what")
		case "release":
			g.hold = ""
			close(g.release)
			g.release = make(chan struct{})
		case "state":
		default:
			http.NotFound(w, r)
			return
		}
		reply(w, 200, map[string]any{"held": g.held})
	})
	// admin wraps an admin API handler: the key's check, the store's state
	// and the holding of answers.
	admin := func(needsStore bool, h func(r *http.Request) any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			g.mu.Lock()
			if g.revoked {
				g.sentAfter++
			}
			switch {
			case g.revoked || (key != "adm-key" && key != "ten-key"):
				if g.revoked {
					g.refusals++
				}
				g.mu.Unlock()
				apiErr(w, 401, "unauthorized", "invalid or missing admin key")
				return
			case g.down && key == "ten-key":
				g.mu.Unlock()
				apiErr(w, 503, "store_unavailable", "the key store is unreachable")
				return
			case g.down && needsStore:
				g.mu.Unlock()
				apiErr(w, 503, "store_unavailable", "the store is unreachable")
				return
			}
			release := g.release
			held := g.holds(r)
			if held {
				g.held++
			}
			g.mu.Unlock()
			if held {
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
			}
			reply(w, 200, h(r))
		}
	}
	mux.HandleFunc("GET /admin/whoami", admin(false, func(r *http.Request) any {
		if strings.HasSuffix(r.Header.Get("Authorization"), "ten-key") {
			return map[string]any{"role": "tenant_admin", "tenant_id": "acme"}
		}
		return map[string]any{"role": "global_admin"}
	}))
	mux.HandleFunc("GET /admin/tenants", admin(true, func(r *http.Request) any {
		return map[string]any{"tenants": []any{map[string]any{"id": "acme"}, map[string]any{"id": "beta"}}}
	}))
	mux.HandleFunc("GET /admin/keys", admin(true, func(r *http.Request) any {
		t := r.URL.Query().Get("tenant_id")
		return map[string]any{"keys": []any{map[string]any{"id": "key_" + t, "tenant_id": t, "name": t + "-key", "role": "user"}}}
	}))
	mux.HandleFunc("GET /admin/usage", admin(true, func(r *http.Request) any { return map[string]any{"usage": fakeUsage(r)} }))
	mux.HandleFunc("GET /admin/usage/export", admin(true, func(r *http.Request) any { return nil }))
	mux.Handle(dashboard.Prefix, dashboard.Handler())
	return mux
}

// holds says whether the answer to r is held until released; g.mu is held.
func (g *fakeGateway) holds(r *http.Request) bool {
	q := r.URL.Query()
	switch g.hold {
	case "30d":
		from, _ := time.Parse(time.RFC3339, q.Get("from"))
		// A 30 days' query, not this month's (which starts at midnight).
		return r.URL.Path == "/admin/usage" && time.Since(from) > 25*24*time.Hour && !from.Equal(from.Truncate(24*time.Hour))
	case "acme":
		return r.URL.Path == "/admin/keys" && q.Get("tenant_id") == "acme"
	}
	return false
}

// fakeUsage: for a period over two days, 6 requests of $1 (5 of them 12
// days ago); for a shorter one, 1 request of $1 in the last hour.
func fakeUsage(r *http.Request) any {
	q := r.URL.Query()
	from, _ := time.Parse(time.RFC3339, q.Get("from"))
	long := time.Since(from) > 48*time.Hour
	n := 1
	if long {
		n = 6
	}
	row := func(k, v string) map[string]any {
		return map[string]any{k: v, "requests": n, "errors": 0, "cache_hits": 0, "cost_usd": float64(n), "avg_latency_ms": 10.0, "rated": 0, "avg_quality": nil}
	}
	switch g := q.Get("group_by"); {
	case q.Get("bucket") != "":
		now := time.Now().UTC()
		rows := []any{map[string]any{"bucket_start": now.Truncate(time.Hour).Format(time.RFC3339), "cost_usd": 1.0, "requests": 1}}
		if long {
			rows = []any{
				map[string]any{"bucket_start": now.Truncate(24 * time.Hour).Format(time.RFC3339), "cost_usd": 1.0, "requests": 1},
				map[string]any{"bucket_start": now.Add(-12 * 24 * time.Hour).Truncate(24 * time.Hour).Format(time.RFC3339), "cost_usd": 5.0, "requests": 5},
			}
		}
		return rows
	case g == "tenant":
		return []any{row("tenant_id", "acme")}
	case g == "key":
		return []any{row("key_id", "key_"+q.Get("tenant_id"))}
	case g == "route,deployment":
		r := row("route", "auto")
		r["deployment"] = "d"
		return []any{r}
	}
	return []any{}
}

// sessionView is one view.
type sessionView struct {
	LoginVisible, AppVisible, KeyStored  bool
	LoginError, AppError, Whoami, Range  string
	Requests, Cost, ChartNote, KeysTitle string
	TenantRows                           int
	Selected, KeyRows                    []string
}

// TestSessionInChromium drives a signed-in dashboard through what goes
// wrong after sign-in (found by audit AA):
//   - a key refused since (revoked, rotated, admin.key changed) signs the
//     page out, the key forgotten, after one refused call: the next
//     Refresh, period change or tenant click used to send 6 (or 4)
//     refused calls each, and all admin calls of an address count
//     against one sign-in limit, so two clicks locked every admin behind
//     it out for a minute;
//   - the store down keeps the key (a reload used to sign out) and shows
//     the API's message, and Refresh tries again;
//   - a failed CSV export shows the API's message, not "HTTP 503";
//   - answers to an earlier period or tenant arriving after a later
//     one's are dropped, not drawn over it.
func TestSessionInChromium(t *testing.T) {
	node, layout := layoutCheck(t)
	script := filepath.Join(filepath.Dir(layout), "session.mjs")
	run := func(t *testing.T, scenario string) (*fakeGateway, map[string]sessionView) {
		t.Helper()
		g := newFakeGateway()
		srv := httptest.NewServer(g.handler())
		t.Cleanup(srv.Close)
		cmd := exec.Command(node, script, srv.URL, scenario)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		raw, err := cmd.Output()
		if err != nil {
			t.Fatalf("session.mjs %s: %v\n%s", scenario, err, stderr.String())
		}
		var out struct {
			ConsoleErrors        []string
			Before, After, Again sessionView
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("session.mjs printed %q: %v", raw, err)
		}
		if len(out.ConsoleErrors) > 0 {
			t.Errorf("console errors: %q", out.ConsoleErrors)
		}
		return g, map[string]sessionView{"before": out.Before, "after": out.After, "again": out.Again}
	}

	for _, scenario := range []string{"refused-refresh", "refused-range", "refused-tenant"} {
		t.Run(scenario, func(t *testing.T) {
			g, v := run(t, scenario)
			a := v["after"]
			if !a.LoginVisible || a.AppVisible || a.KeyStored || !strings.Contains(a.LoginError, "refused the key (invalid or missing admin key)") {
				t.Errorf("after the key was refused: %+v, want the sign-in form with the API's message and the key forgotten", a)
			}
			if a.TenantRows != 0 || a.Requests != "–" {
				t.Errorf("after the key was refused: %+v, want the refused key's figures cleared", a)
			}
			g.mu.Lock()
			sent, refusals := g.sentAfter, g.refusals
			g.mu.Unlock()
			if sent != 1 || refusals != 1 {
				t.Errorf("%d calls sent with the refused key, %d refused, want 1 (each counts against the address's sign-in limit)", sent, refusals)
			}
			if again := v["again"]; !again.AppVisible || !again.KeyStored || again.TenantRows != 2 || again.Requests == "–" || again.LoginError != "" {
				t.Errorf("signed in again: %+v, want the page loaded", again)
			}
		})
	}

	t.Run("down-reload", func(t *testing.T) {
		_, v := run(t, "down-reload")
		a := v["after"]
		if !a.AppVisible || a.LoginVisible || !a.KeyStored || a.LoginError != "" || a.Whoami != "Global admin" {
			t.Errorf("reloaded with the store down: %+v, want still signed in, the key kept", a)
		}
		if !strings.Contains(a.AppError, "Could not load usage: the store is unreachable") || !strings.Contains(a.AppError, "Refresh") {
			t.Errorf("reloaded with the store down: error %q, want the API's message and Refresh to retry", a.AppError)
		}
		if again := v["again"]; again.AppError != "" || again.Requests != "1" || again.TenantRows != 2 {
			t.Errorf("Refresh with the store back: %+v, want the page loaded", again)
		}
	})

	t.Run("down-signin", func(t *testing.T) {
		_, v := run(t, "down-signin")
		a := v["after"]
		if !a.AppVisible || a.LoginVisible || !a.KeyStored || a.LoginError != "" || !strings.Contains(a.AppError, "Could not check the key: the key store is unreachable") {
			t.Errorf("signed in with the key store down: %+v, want the key kept and the API's message", a)
		}
		if again := v["again"]; again.AppError != "" || again.Whoami != "Tenant admin of acme" || again.Requests != "1" {
			t.Errorf("Refresh with the store back: %+v, want the key checked and the page loaded", again)
		}
	})

	t.Run("export-down", func(t *testing.T) {
		_, v := run(t, "export-down")
		if a := v["after"]; a.AppError != "Could not export usage: the store is unreachable. Export CSV again to retry." || !a.KeyStored || !a.AppVisible {
			t.Errorf("export with the store down: %+v, want the API's message", a)
		}
	})

	t.Run("stale-period", func(t *testing.T) {
		_, v := run(t, "stale-period")
		for _, when := range []string{"before", "after"} {
			a := v[when]
			if a.Range != "24h" || a.Requests != "1" || a.Cost != "$1.00" || a.ChartNote != "Highest hour: $1.00" {
				t.Errorf("%s the 30 days' answers came: %s shows %s requests, %s, chart %q; want the 24 hours' 1, $1.00, $1.00",
					when, a.Range, a.Requests, a.Cost, a.ChartNote)
			}
		}
	})

	t.Run("stale-tenant", func(t *testing.T) {
		_, v := run(t, "stale-tenant")
		for _, when := range []string{"before", "after"} {
			a := v[when]
			if a.KeysTitle != "Keys of beta" || strings.Join(a.KeyRows, ",") != "key_beta" || strings.Join(a.Selected, ",") != "beta" {
				t.Errorf("%s acme's keys came: %q %v, %v selected; want beta's keys", when, a.KeysTitle, a.KeyRows, a.Selected)
			}
		}
	})
}
