package admin

import (
	"net/http"
)

// purgeLearning serves DELETE /admin/learning: it deletes the captured
// prompts and feedback of the tenant in tenant_id (a tenant admin: its
// own), or of every tenant when the global admin names none.
func (h *Handler) purgeLearning(w http.ResponseWriter, r *http.Request, c *caller) {
	tenant, hasTenant, ok := purgeScope(w, r, c)
	if !ok {
		return
	}
	if hasTenant && tenant == "" {
		writeErr(w, &apiError{status: http.StatusBadRequest, code: "invalid_request", msg: "tenant_id is empty; leave it out to purge every tenant's"})
		return
	}
	n, err := h.st.PurgeLearning(r.Context(), tenant)
	if err != nil {
		h.storeErr(w, err)
		return
	}
	scope := "all tenants"
	if hasTenant {
		scope = "tenant " + tenant
	}
	h.log.Info("admin: learning data purged", "by", c.id(), "scope", scope, "rows", n)
	writeJSON(w, http.StatusOK, map[string]int64{"purged": n})
}
