package admin

import (
	"context"
	"net/http"
)

// CachePurger empties the response cache: one tenant's answers, or with
// all every answer. The app's response cache implements it.
type CachePurger interface {
	Purge(ctx context.Context, tenantID string, all bool) (int, error)
}

// purgeCache serves DELETE /admin/cache[?tenant_id=]: the global admin
// purges one tenant's answers, or all without tenant_id; a tenant admin
// its own tenant's. It answers {"purged": N} (0 with the cache off).
func (h *Handler) purgeCache(w http.ResponseWriter, r *http.Request, c *caller) {
	tenant, hasTenant, ok := purgeScope(w, r, c)
	if !ok {
		return
	}
	n := 0
	if h.purger != nil {
		var err error
		if n, err = h.purger.Purge(r.Context(), tenant, !hasTenant); err != nil {
			h.log.Error("admin: purge response cache", "err", err)
			writeErr(w, &apiError{status: http.StatusServiceUnavailable, code: "cache_unavailable", msg: "the response cache is unreachable"})
			return
		}
	}
	scope := "all tenants"
	if hasTenant {
		scope = "tenant " + tenant
	}
	h.log.Info("admin: response cache purged", "by", c.id(), "scope", scope, "entries", n)
	writeJSON(w, http.StatusOK, map[string]int{"purged": n})
}

// purgeScope is the tenant a purge names in tenant_id (hasTenant), or
// every tenant: a tenant admin's purge is its own tenant's, and names no
// other. It answers a refusal itself and returns ok false.
func purgeScope(w http.ResponseWriter, r *http.Request, c *caller) (tenant string, hasTenant, ok bool) {
	tenant = r.URL.Query().Get("tenant_id")
	_, hasTenant = r.URL.Query()["tenant_id"]
	if !c.global {
		if hasTenant && tenant != c.key.TenantID {
			writeErr(w, errNotFound)
			return "", false, false
		}
		tenant, hasTenant = c.key.TenantID, true
	}
	return tenant, hasTenant, true
}
