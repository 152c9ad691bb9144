package admin

import (
	"fmt"
	"math"
	"net/http"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// TenantView is a tenant as the admin API shows it.
type TenantView struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Disabled bool           `json:"disabled"`
	Created  time.Time      `json:"created"`
	Limits   tenancy.Limits `json:"limits"`
	Tier     string         `json:"tier,omitempty"`
}

// TenantCreate is the body of POST /admin/tenants.
type TenantCreate struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Disabled bool           `json:"disabled"`
	Limits   tenancy.Limits `json:"limits"`
	// Tier is the routing tier of the tenant's keys that set none.
	Tier string `json:"tier"`
}

// TenantUpdate is the body of PATCH /admin/tenants/{id}, a merge patch:
// absent fields are kept, and so are the limits Limits leaves out. Name,
// Disabled and Tier are the global admin's; a tenant admin may only lower
// Limits.
type TenantUpdate struct {
	Name     *string      `json:"name,omitempty"`
	Disabled *bool        `json:"disabled,omitempty"`
	Limits   *LimitsPatch `json:"limits,omitempty"`
	Tier     *string      `json:"tier,omitempty"`
}

func tenantView(t store.Tenant) TenantView {
	return TenantView{ID: t.ID, Name: t.Name, Disabled: t.Disabled, Created: t.Created, Limits: tenancy.TenantLimits(t), Tier: t.Tier}
}

func (h *Handler) listTenants(w http.ResponseWriter, r *http.Request, c *caller) {
	var ts []store.Tenant
	if c.global {
		all, err := h.st.ListTenants(r.Context())
		if err != nil {
			h.storeErr(w, err)
			return
		}
		ts = all
	} else {
		t, err := h.st.GetTenant(r.Context(), c.key.TenantID)
		if err != nil {
			h.storeErr(w, err)
			return
		}
		ts = []store.Tenant{t}
	}
	out := make([]TenantView, 0, len(ts))
	for _, t := range ts {
		out = append(out, tenantView(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenants": out})
}

func (h *Handler) createTenant(w http.ResponseWriter, r *http.Request, c *caller) {
	var in TenantCreate
	if err := decode(w, r, &in); err != nil {
		writeErr(w, err)
		return
	}
	if in.ID == "" {
		in.ID = store.NewID("ten")
	}
	if err := checkID(in.ID); err != nil {
		writeErr(w, err)
		return
	}
	if err := checkLimits(in.Limits, nil); err != nil {
		writeErr(w, err)
		return
	}
	if in.Name == "" {
		in.Name = in.ID
	}
	if err := checkName(in.Name); err != nil {
		writeErr(w, err)
		return
	}
	t := store.Tenant{ID: in.ID, Name: in.Name, Disabled: in.Disabled, Created: h.now().UTC(), Tier: in.Tier}
	in.Limits.ApplyTenant(&t)
	if err := h.st.CreateTenant(r.Context(), t); err != nil {
		h.storeErr(w, err)
		return
	}
	h.log.Info("admin: tenant created", "by", c.id(), "tenant", t.ID)
	writeJSON(w, http.StatusCreated, tenantView(t))
}

// tenantOf loads the tenant named in the path, 404 for another tenant's.
func (h *Handler) tenantOf(w http.ResponseWriter, r *http.Request, c *caller) (store.Tenant, bool) {
	id := r.PathValue("id")
	if !c.owns(id) {
		writeErr(w, errNotFound)
		return store.Tenant{}, false
	}
	t, err := h.st.GetTenant(r.Context(), id)
	if err != nil {
		h.storeErr(w, err)
		return store.Tenant{}, false
	}
	return t, true
}

func (h *Handler) getTenant(w http.ResponseWriter, r *http.Request, c *caller) {
	t, ok := h.tenantOf(w, r, c)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, tenantView(t))
}

func (h *Handler) updateTenant(w http.ResponseWriter, r *http.Request, c *caller) {
	t, ok := h.tenantOf(w, r, c)
	if !ok {
		return
	}
	var in TenantUpdate
	if err := decodePatch(w, r, &in); err != nil {
		writeErr(w, err)
		return
	}
	if !c.global && (in.Name != nil || in.Disabled != nil || in.Tier != nil) {
		writeErr(w, errForbidden("only the global admin may rename, enable, disable or re-tier a tenant"))
		return
	}
	if in.Limits != nil {
		was := tenancy.TenantLimits(t)
		l := in.Limits.Merge(was)
		if err := checkLimits(l, &was); err != nil {
			writeErr(w, err)
			return
		}
		if !c.global {
			if err := within(l, tenancy.TenantLimits(t), "the tenant's current limits"); err != nil {
				writeErr(w, err)
				return
			}
		}
		l.ApplyTenant(&t)
	}
	if in.Name != nil {
		if err := checkName(*in.Name); err != nil {
			writeErr(w, err)
			return
		}
		t.Name = *in.Name
	}
	if in.Disabled != nil {
		t.Disabled = *in.Disabled
	}
	if in.Tier != nil {
		t.Tier = *in.Tier
	}
	if err := h.st.UpdateTenant(r.Context(), t); err != nil {
		h.storeErr(w, err)
		return
	}
	switch {
	case h.cache == nil:
	case t.Disabled:
		h.cache.ForgetTenant(t.ID) // fails closed, even through a store outage
	default:
		h.cache.RefreshTenant(t.ID)
	}
	h.log.Info("admin: tenant updated", "by", c.id(), "tenant", t.ID)
	writeJSON(w, http.StatusOK, tenantView(t))
}

// maxName bounds the display name of a tenant or key, in characters: the
// dashboard and every list carry it.
const maxName = 200

// checkName refuses a name longer than maxName characters, or holding a
// control character (Unicode category Cc: U+0000 to U+001F and U+007F to
// U+009F, newline, tab and ESC included): a name is shown in lists meant
// for people, where one could begin a forged row or send a terminal its
// escape sequences.
func checkName(name string) error {
	if utf8.RuneCountInString(name) > maxName {
		return errBad(fmt.Sprintf("name must be at most %d characters", maxName))
	}
	for i, r := range []rune(name) {
		if unicode.IsControl(r) {
			return errBad(fmt.Sprintf("name must not contain control characters (%U at character %d)", r, i+1))
		}
	}
	return nil
}

func checkID(id string) error {
	if len(id) > 64 {
		return errBad("id must be at most 64 characters")
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return errBad("id may contain only letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}

// maxBudgetUSD is the largest budget a key or tenant may have: far above
// any real one, and small enough that a period's spend, counted in
// nano-dollars, stays exact.
const maxBudgetUSD = 1e9

// minBudgetUSD is the smallest positive budget: budgets count whole
// nano-dollars, and a smaller one would round to 0, which is unlimited.
const minBudgetUSD = 1e-9

// maxLimit is the largest rpm, tpm or max_concurrent a key or tenant may
// have: what a PostgreSQL integer column holds (and SQLite is held to it
// too, so both stores take the same limits).
const maxLimit = math.MaxInt32

// checkLimits refuses a negative limit or budget, a limit above maxLimit,
// and a budget above maxBudgetUSD or below minBudgetUSD (but not 0),
// naming the field and the rule it breaks. was are the limits stored
// before an update (nil for a new key or tenant): a limit it already had
// is not held to maxLimit, added after it was stored (on SQLite), so the
// key or tenant can still be edited.
func checkLimits(l tenancy.Limits, was *tenancy.Limits) error {
	var old tenancy.Limits
	if was != nil {
		old = *was
	}
	for _, f := range []struct {
		name   string
		v, was int
	}{{"rpm", l.RPM, old.RPM}, {"tpm", l.TPM, old.TPM}, {"max_concurrent", l.MaxConcurrent, old.MaxConcurrent}} {
		switch {
		case f.v < 0:
			return errBad("limits." + f.name + " must be ≥ 0 (0 is unlimited)")
		case f.v > maxLimit && (was == nil || f.v != f.was):
			return errBad("limits." + f.name + " must be at most 2147483647 (0 is unlimited)")
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"budget_daily_usd", l.BudgetDailyUSD}, {"budget_monthly_usd", l.BudgetMonthlyUSD}} {
		switch {
		case !(f.v >= 0):
			return errBad("limits." + f.name + " must be ≥ 0 (0 is unlimited)")
		case f.v > maxBudgetUSD:
			return errBad("limits." + f.name + " must be at most 1000000000 (USD; 0 is unlimited)")
		case f.v > 0 && f.v < minBudgetUSD:
			return errBad("limits." + f.name + " must be 0 (unlimited) or at least 0.000000001 (USD): budgets count whole nano-dollars")
		}
	}
	return nil
}

// within checks that every limit of l is no wider than the matching one of
// bound, where 0 means unlimited (the widest).
func within(l, bound tenancy.Limits, what string) error {
	ints := []struct {
		name   string
		v, max int
	}{{"rpm", l.RPM, bound.RPM}, {"tpm", l.TPM, bound.TPM}, {"max_concurrent", l.MaxConcurrent, bound.MaxConcurrent}}
	for _, f := range ints {
		if f.max > 0 && (f.v == 0 || f.v > f.max) {
			return errForbidden(f.name + " may not exceed " + what)
		}
	}
	floats := []struct {
		name   string
		v, max float64
	}{{"budget_daily_usd", l.BudgetDailyUSD, bound.BudgetDailyUSD}, {"budget_monthly_usd", l.BudgetMonthlyUSD, bound.BudgetMonthlyUSD}}
	for _, f := range floats {
		if f.max > 0 && (f.v == 0 || f.v > f.max) {
			return errForbidden(f.name + " may not exceed " + what)
		}
	}
	return nil
}
