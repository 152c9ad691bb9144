package admin

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// SecretPrefix begins every virtual key secret.
const SecretPrefix = "sk-sy-"

// KeyView is a key as the admin API shows it. Secret is set only in the
// answers of create and rotate.
type KeyView struct {
	ID            string            `json:"id"`
	TenantID      string            `json:"tenant_id"`
	Name          string            `json:"name"`
	Prefix        string            `json:"prefix"`
	Role          string            `json:"role"`
	AllowedRoutes []string          `json:"allowed_routes"`
	Limits        tenancy.Limits    `json:"limits"`
	ExpiresAt     *time.Time        `json:"expires_at,omitempty"`
	RevokedAt     *time.Time        `json:"revoked_at,omitempty"`
	Tier          string            `json:"tier,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	Created       time.Time         `json:"created"`
	Secret        string            `json:"secret,omitempty"`
}

// KeyCreate is the body of POST /admin/keys. A tenant admin may omit
// TenantID (its own is used); omitted limits, routes and expiry are then
// inherited from the tenant admin's key.
type KeyCreate struct {
	TenantID      string            `json:"tenant_id"`
	Name          string            `json:"name"`
	Role          string            `json:"role"`
	AllowedRoutes []string          `json:"allowed_routes"`
	Limits        tenancy.Limits    `json:"limits"`
	ExpiresAt     *time.Time        `json:"expires_at"`
	Tier          string            `json:"tier"`
	Metadata      map[string]string `json:"metadata"`
}

// KeyUpdate is the body of PATCH /admin/keys/{id}, a merge patch: absent
// fields are kept, and so are the limits Limits leaves out; ExpiresAt
// null removes the expiry.
type KeyUpdate struct {
	Name          *string            `json:"name,omitempty"`
	Role          *string            `json:"role,omitempty"`
	AllowedRoutes *[]string          `json:"allowed_routes,omitempty"`
	Limits        *LimitsPatch       `json:"limits,omitempty"`
	ExpiresAt     Expiry             `json:"expires_at,omitzero"`
	Tier          *string            `json:"tier,omitempty"`
	Metadata      *map[string]string `json:"metadata,omitempty"`
}

func keyView(k store.Key) KeyView {
	routes := k.AllowedRoutes
	if routes == nil {
		routes = []string{}
	}
	return KeyView{ID: k.ID, TenantID: k.TenantID, Name: k.Name, Prefix: k.Prefix, Role: k.Role, AllowedRoutes: routes,
		Limits: tenancy.KeyLimits(k), ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, Tier: k.Tier, Metadata: k.Metadata, Created: k.Created}
}

// newSecret returns a fresh key secret: the prefix and 160 random bits.
func newSecret() (string, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return SecretPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])), nil
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, c *caller) {
	tenant := r.URL.Query().Get("tenant_id")
	if !c.global {
		if tenant != "" && tenant != c.key.TenantID {
			writeErr(w, errNotFound)
			return
		}
		tenant = c.key.TenantID
	}
	ks, err := h.st.ListKeys(r.Context(), tenant)
	if err != nil {
		h.storeErr(w, err)
		return
	}
	out := make([]KeyView, 0, len(ks))
	for _, k := range ks {
		out = append(out, keyView(k))
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": out})
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, c *caller) {
	var in KeyCreate
	if err := decode(w, r, &in); err != nil {
		writeErr(w, err)
		return
	}
	if in.TenantID == "" {
		in.TenantID = c.tenant()
	}
	if in.TenantID == "" {
		writeErr(w, errBad("tenant_id is required"))
		return
	}
	if !c.owns(in.TenantID) {
		writeErr(w, errNotFound)
		return
	}
	if _, err := h.st.GetTenant(r.Context(), in.TenantID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// Only the global admin gets here for another tenant: a
			// tenant admin's own tenant exists.
			writeErr(w, &apiError{status: http.StatusNotFound, code: "not_found",
				msg: "tenant " + strconv.Quote(in.TenantID) + " does not exist: create it first (POST /admin/tenants)"})
			return
		}
		h.storeErr(w, err)
		return
	}
	if in.Role == "" {
		in.Role = store.RoleUser
	}
	now := h.now().UTC()
	k := store.Key{ID: store.NewID("key"), TenantID: in.TenantID, Name: in.Name, Role: in.Role, AllowedRoutes: in.AllowedRoutes,
		ExpiresAt: in.ExpiresAt, Tier: in.Tier, Metadata: in.Metadata, Created: now}
	in.Limits.Apply(&k)
	if !c.global {
		inherit(&k, c.key)
	}
	if err := h.checkKey(k, nil, c, now); err != nil {
		writeErr(w, err)
		return
	}
	secret, err := newSecret()
	if err != nil {
		writeErr(w, err)
		return
	}
	k.Hash = auth.Hash(secret)
	k.Prefix = secret[:len(SecretPrefix)+4]
	if err := h.st.CreateKey(r.Context(), k); err != nil {
		h.storeErr(w, err)
		return
	}
	h.log.Info("admin: key created", "by", c.id(), "tenant", k.TenantID, "key_id", k.ID)
	v := keyView(k)
	v.Secret = secret
	writeJSON(w, http.StatusCreated, v)
}

// inherit fills the unlimited (zero) limits, empty routes and missing
// expiry of k from the issuing tenant admin's key.
func inherit(k *store.Key, issuer *store.Key) {
	set := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setF := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	set(&k.RPM, issuer.RPM)
	set(&k.TPM, issuer.TPM)
	set(&k.MaxConcurrent, issuer.MaxConcurrent)
	setF(&k.BudgetDailyUSD, issuer.BudgetDailyUSD)
	setF(&k.BudgetMonthlyUSD, issuer.BudgetMonthlyUSD)
	if len(k.AllowedRoutes) == 0 {
		k.AllowedRoutes = slices.Clone(issuer.AllowedRoutes)
	}
	if k.ExpiresAt == nil && issuer.ExpiresAt != nil {
		e := *issuer.ExpiresAt
		k.ExpiresAt = &e
	}
}

// checkKey validates k and, for a tenant admin, that its scope is within
// the caller's own.
//
// was is the key as stored before an update or rotation (nil for a new
// key): a name or metadata it already had is not checked against bounds
// added after it was stored, so such a key can still be edited and
// rotated (a leaked key above all) without first trimming them.
func (h *Handler) checkKey(k store.Key, was *store.Key, c *caller, now time.Time) error {
	if k.Role != store.RoleUser && k.Role != store.RoleTenantAdmin {
		return errBad("role must be user or tenant_admin")
	}
	if was == nil || k.Name != was.Name {
		if err := checkName(k.Name); err != nil {
			return err
		}
	}
	if was == nil || !maps.Equal(k.Metadata, was.Metadata) {
		if err := checkMetadata(k.Metadata); err != nil {
			return err
		}
	}
	for i, rt := range k.AllowedRoutes {
		switch {
		case strings.TrimSpace(rt) == "":
			return errBad(fmt.Sprintf("allowed_routes[%d] must not be empty", i))
		case strings.TrimSpace(rt) != rt:
			// No route name has them: the key could never use it.
			return errBad(fmt.Sprintf("allowed_routes[%d] %q has spaces around the route name", i, rt))
		}
	}
	var wasLimits *tenancy.Limits
	if was != nil {
		l := tenancy.KeyLimits(*was)
		wasLimits = &l
	}
	if err := checkLimits(tenancy.KeyLimits(k), wasLimits); err != nil {
		return err
	}
	if k.ExpiresAt != nil && !k.ExpiresAt.After(now) {
		return errBad("expires_at must be in the future")
	}
	if c.global {
		return nil
	}
	is := c.key
	if err := within(tenancy.KeyLimits(k), tenancy.KeyLimits(*is), "your own key's"); err != nil {
		return err
	}
	if len(is.AllowedRoutes) > 0 && !slices.Contains(is.AllowedRoutes, "*") {
		if len(k.AllowedRoutes) == 0 {
			return errForbidden("allowed_routes must be a subset of your own key's")
		}
		for _, rt := range k.AllowedRoutes {
			if !slices.Contains(is.AllowedRoutes, rt) {
				return errForbidden("allowed_routes must be a subset of your own key's")
			}
		}
	}
	if is.ExpiresAt != nil && (k.ExpiresAt == nil || k.ExpiresAt.After(*is.ExpiresAt)) {
		return errForbidden("expires_at may not be later than your own key's")
	}
	// The tier picks routes (premium models): a tenant admin may not mint a
	// key of a tier other than its own; empty inherits the tenant's.
	if k.Tier != "" && k.Tier != is.Tier {
		return errForbidden("tier must be empty (the tenant's) or your own key's")
	}
	return nil
}

// Bounds of a key's metadata (OpenAI's for its objects' metadata): every
// key list and lookup carries it.
const (
	maxMetadataPairs = 16
	maxMetadataKey   = 64  // characters
	maxMetadataValue = 512 // characters
)

func checkMetadata(m map[string]string) error {
	if len(m) > maxMetadataPairs {
		return errBad(fmt.Sprintf("metadata may have at most %d entries", maxMetadataPairs))
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch {
		case utf8.RuneCountInString(k) > maxMetadataKey:
			return errBad(fmt.Sprintf("metadata key %.20q… is longer than %d characters", k, maxMetadataKey))
		case utf8.RuneCountInString(m[k]) > maxMetadataValue:
			return errBad(fmt.Sprintf("metadata[%q] is longer than %d characters", k, maxMetadataValue))
		}
	}
	return nil
}

// keyOf loads the key named in the path; another tenant's key is 404.
func (h *Handler) keyOf(w http.ResponseWriter, r *http.Request, c *caller) (store.Key, bool) {
	k, err := h.st.GetKey(r.Context(), r.PathValue("id"))
	if err != nil {
		h.storeErr(w, err)
		return store.Key{}, false
	}
	if !c.owns(k.TenantID) {
		writeErr(w, errNotFound)
		return store.Key{}, false
	}
	return k, true
}

func (h *Handler) getKey(w http.ResponseWriter, r *http.Request, c *caller) {
	if k, ok := h.keyOf(w, r, c); ok {
		writeJSON(w, http.StatusOK, keyView(k))
	}
}

func (h *Handler) updateKey(w http.ResponseWriter, r *http.Request, c *caller) {
	k, ok := h.keyOf(w, r, c)
	if !ok {
		return
	}
	was := k
	var in KeyUpdate
	if err := decodePatch(w, r, &in, "expires_at"); err != nil {
		writeErr(w, err)
		return
	}
	if in.Name != nil {
		k.Name = *in.Name
	}
	if in.Role != nil {
		k.Role = *in.Role
	}
	if in.AllowedRoutes != nil {
		k.AllowedRoutes = *in.AllowedRoutes
	}
	in.Limits.Merge(tenancy.KeyLimits(k)).Apply(&k)
	if in.ExpiresAt.Set {
		k.ExpiresAt = in.ExpiresAt.At // nil: never expires
	}
	if in.Tier != nil {
		k.Tier = *in.Tier
	}
	if in.Metadata != nil {
		k.Metadata = *in.Metadata
	}
	if err := h.checkKey(k, &was, c, h.now()); err != nil {
		writeErr(w, err)
		return
	}
	if err := h.st.UpdateKey(r.Context(), k); err != nil {
		h.storeErr(w, err)
		return
	}
	if h.cache != nil {
		h.cache.Refresh(k.ID) // nothing revoked: keep serving it through a store outage
	}
	h.log.Info("admin: key updated", "by", c.id(), "tenant", k.TenantID, "key_id", k.ID)
	writeJSON(w, http.StatusOK, keyView(k))
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, c *caller) {
	k, ok := h.keyOf(w, r, c)
	if !ok {
		return
	}
	now := h.now().UTC()
	if err := h.st.RevokeKey(r.Context(), k.ID, now); err != nil {
		h.storeErr(w, err)
		return
	}
	h.forget(k.ID)
	if k.RevokedAt == nil {
		k.RevokedAt = &now
	}
	h.log.Info("admin: key revoked", "by", c.id(), "tenant", k.TenantID, "key_id", k.ID)
	writeJSON(w, http.StatusOK, keyView(k))
}

// rotateKey issues a new key with the same settings and revokes the old
// one; the answer carries the new secret.
func (h *Handler) rotateKey(w http.ResponseWriter, r *http.Request, c *caller) {
	old, ok := h.keyOf(w, r, c)
	if !ok {
		return
	}
	if old.RevokedAt != nil {
		writeErr(w, &apiError{status: http.StatusConflict, code: "revoked", msg: "a revoked key cannot be rotated"})
		return
	}
	now := h.now().UTC()
	k := old
	k.ID = store.NewID("key")
	k.Created = now
	k.RevokedAt = nil
	if err := h.checkKey(k, &old, c, now); err != nil {
		writeErr(w, err)
		return
	}
	secret, err := newSecret()
	if err != nil {
		writeErr(w, err)
		return
	}
	k.Hash = auth.Hash(secret)
	k.Prefix = secret[:len(SecretPrefix)+4]
	if err := h.st.CreateKey(r.Context(), k); err != nil {
		h.storeErr(w, err)
		return
	}
	if err := h.st.RevokeKey(r.Context(), old.ID, now); err != nil {
		h.storeErr(w, err)
		return
	}
	h.forget(old.ID)
	h.log.Info("admin: key rotated", "by", c.id(), "tenant", k.TenantID, "key_id", old.ID, "new_key_id", k.ID)
	v := keyView(k)
	v.Secret = secret
	writeJSON(w, http.StatusOK, v)
}

func (h *Handler) forget(keyID string) {
	if h.cache != nil {
		h.cache.Forget(keyID)
	}
}
