// Package dashboard is the usage and budget dashboard for product and
// finance: a static page on the admin listener (/dashboard/) that signs in
// with an admin key and reads the admin API (per-tenant cost, requests,
// cache hits, budgets and their spend, cost over time, routes and
// deployments). It holds no data and no secret itself; what a key sees is
// what the admin API lets it see (a tenant admin only its own tenant).
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Prefix is the path the dashboard is served under.
const Prefix = "/dashboard/"

// Handler serves the dashboard's files under Prefix. The page runs no
// inline script and loads nothing from elsewhere, which its
// Content-Security-Policy enforces; it may not be framed.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix(Prefix, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
