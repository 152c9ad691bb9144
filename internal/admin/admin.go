// Package admin is Switchyard's admin HTTP API, served on its own listener
// (admin.listen): tenants, virtual API keys and usage reports. The app
// builds it with New and serves it; `switchyard keys` drives it.
//
// Every request carries an admin credential (Authorization: Bearer or
// x-api-key). Three roles exist:
//
//   - global admin: the admin.key of the config; sees and changes
//     everything.
//   - tenant admin: a virtual key with role tenant_admin; sees and changes
//     only its own tenant's objects, and only within its own scope: keys it
//     creates or edits get limits and budgets no higher than its own,
//     allowed routes within its own and an expiry no later than its own.
//     It may lower, never raise, its tenant's limits, and may not rename,
//     enable or disable its tenant.
//   - user: any other key; no admin access (403).
//
// Objects of another tenant answer 404, so their existence is not revealed.
// Secrets are returned once, by key creation and rotation; only their
// SHA-256 is stored. Routes lists every endpoint with the roles that may
// call it.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/httpmux"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// Forgetter drops cached key lookups so admin changes apply at once in this
// process; *tenancy.Guard implements it.
type Forgetter interface {
	// Forget and ForgetTenant drop the lookups: the next request must
	// reach the store (a revoked, rotated or disabled key fails closed).
	Forget(keyID string)
	ForgetTenant(tenantID string)
	// Refresh and RefreshTenant make the next lookups ask the store but
	// keep what was known to serve while it fails (a change that revokes
	// nothing).
	Refresh(keyID string)
	RefreshTenant(tenantID string)
}

// Options wire the admin API.
type Options struct {
	// Store holds tenants, keys and usage; required.
	Store store.Store
	// AdminKey is the global admin key; required.
	AdminKey string
	// Cache, when set, forgets changed keys at once.
	Cache Forgetter
	// ResponseCache, when set, is what DELETE /admin/cache purges.
	ResponseCache CachePurger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives one line per change (never a secret); default discards.
	Logger *slog.Logger
}

// Handler serves the admin API. Safe for concurrent use.
type Handler struct {
	st     store.Store
	admin  atomic.Pointer[auth.Static] // the global admin key; SetKey replaces it
	cache  Forgetter
	purger CachePurger
	now    func() time.Time
	log    *slog.Logger
	mux    *http.ServeMux
	signin signins // failed sign-ins per client address
}

// Access says which callers may use a route.
type Access struct {
	// Global: the global admin may call it.
	Global bool
	// TenantAdmin: a tenant admin may call it for objects of its own tenant.
	TenantAdmin bool
}

// Route is one admin endpoint.
type Route struct {
	Method string
	// Pattern is the path, with {id} for an object ID.
	Pattern string
	// Object is what {id} (or the tenant_id of the body or query) names:
	// "tenant", "key" or "" for none.
	Object string
	Access Access
	handle func(h *Handler, w http.ResponseWriter, r *http.Request, c *caller)
}

// Routes returns the admin API's endpoints in a fixed order.
func Routes() []Route {
	both := Access{Global: true, TenantAdmin: true}
	return []Route{
		{Method: "GET", Pattern: "/admin/whoami", Access: both, handle: (*Handler).whoami},
		{Method: "GET", Pattern: "/admin/tenants", Access: both, handle: (*Handler).listTenants},
		{Method: "POST", Pattern: "/admin/tenants", Object: "tenant", Access: Access{Global: true}, handle: (*Handler).createTenant},
		{Method: "GET", Pattern: "/admin/tenants/{id}", Object: "tenant", Access: both, handle: (*Handler).getTenant},
		{Method: "PATCH", Pattern: "/admin/tenants/{id}", Object: "tenant", Access: both, handle: (*Handler).updateTenant},
		{Method: "GET", Pattern: "/admin/keys", Object: "tenant", Access: both, handle: (*Handler).listKeys},
		{Method: "POST", Pattern: "/admin/keys", Object: "tenant", Access: both, handle: (*Handler).createKey},
		{Method: "GET", Pattern: "/admin/keys/{id}", Object: "key", Access: both, handle: (*Handler).getKey},
		{Method: "PATCH", Pattern: "/admin/keys/{id}", Object: "key", Access: both, handle: (*Handler).updateKey},
		{Method: "POST", Pattern: "/admin/keys/{id}/revoke", Object: "key", Access: both, handle: (*Handler).revokeKey},
		{Method: "POST", Pattern: "/admin/keys/{id}/rotate", Object: "key", Access: both, handle: (*Handler).rotateKey},
		{Method: "GET", Pattern: "/admin/usage", Object: "tenant", Access: both, handle: (*Handler).usage},
		{Method: "GET", Pattern: "/admin/usage/export", Object: "tenant", Access: both, handle: (*Handler).export},
		{Method: "DELETE", Pattern: "/admin/cache", Object: "tenant", Access: both, handle: (*Handler).purgeCache},
		{Method: "DELETE", Pattern: "/admin/learning", Object: "tenant", Access: both, handle: (*Handler).purgeLearning},
	}
}

// New returns the admin API handler.
func New(opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{st: opts.Store, cache: opts.Cache, purger: opts.ResponseCache, now: opts.Now, log: opts.Logger, mux: http.NewServeMux()}
	h.SetKey(opts.AdminKey)
	for _, rt := range Routes() {
		handle := rt.handle
		h.mux.HandleFunc(rt.Method+" "+rt.Pattern, func(w http.ResponseWriter, r *http.Request) {
			c, err := h.signIn(r)
			if err != nil {
				writeErr(w, err)
				return
			}
			if !c.global && !rt.Access.TenantAdmin {
				writeErr(w, errForbidden("only the global admin may do this"))
				return
			}
			handle(h, w, r, c)
		})
	}
	// A known path with another method, and any other path, get the
	// API's JSON error rather than net/http's plain text.
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range Routes() {
		if _, ok := allowed[rt.Pattern]; !ok {
			paths = append(paths, rt.Pattern)
		}
		allowed[rt.Pattern] = append(allowed[rt.Pattern], rt.Method)
	}
	for _, path := range paths {
		httpmux.HandleWrongMethods(h.mux, path, allowed[path], func(allow string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Allow", allow)
				writeErr(w, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", msg: r.Method + " is not allowed here (allowed: " + allow + ")"})
			}
		})
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, &apiError{status: http.StatusNotFound, code: "not_found", msg: "no such admin endpoint"})
	})
	return h
}

// SetKey replaces the global admin key (a config reload rotating
// admin.key); the old key is refused from the next request on.
func (h *Handler) SetKey(key string) { h.admin.Store(auth.NewStatic(key)) }

// ServeHTTP implements http.Handler.
// Every answer is kept out of caches (a created key's secret is in one)
// and is to be read as the type it says (JSON, CSV), never sniffed.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	httpmux.Serve(h.mux, w, r)
}

// caller is an authenticated admin: the global admin or a tenant admin key.
type caller struct {
	global bool
	key    *store.Key // the tenant admin's key
}

func (c *caller) tenant() string {
	if c.global {
		return ""
	}
	return c.key.TenantID
}

// owns reports whether c may see objects of tenantID.
func (c *caller) owns(tenantID string) bool { return c.global || c.key.TenantID == tenantID }

func (c *caller) id() string {
	if c.global {
		return "global-admin"
	}
	return c.key.ID
}

// signIn authenticates r's key, unless its client address has had too
// many keys refused lately (see signins).
func (h *Handler) signIn(r *http.Request) (*caller, error) {
	if !sentKey(r.Header) {
		return h.authenticate(r.Context(), r.Header) // guesses nothing
	}
	addr := clientAddr(r.RemoteAddr)
	if wait := h.signin.attempt(addr, h.now()); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		return nil, &apiError{status: http.StatusTooManyRequests, code: "too_many_failed_sign_ins", retryAfter: secs,
			msg: "too many invalid admin keys from this address; try again in " + strconv.Itoa(secs) + " s"}
	}
	c, err := h.authenticate(r.Context(), r.Header)
	if err != errUnauthorized {
		h.signin.giveBack(addr) // a good key, or one the store could not check
		return c, err
	}
	if n := h.signin.count(addr); n == 1 || n == maxFailures {
		h.log.Warn("admin: sign-in refused: invalid admin key", "remote", addr, "failures", n, "limit", maxFailures)
	}
	return c, err
}

// sentKey reports whether hdr carries a key at all: a request without one
// guesses nothing, so it is not counted as a failed sign-in.
func sentKey(hdr http.Header) bool {
	_, ok := auth.FromHeader(hdr)
	return ok
}

func (h *Handler) authenticate(ctx context.Context, hdr http.Header) (*caller, error) {
	secret, ok := auth.FromHeader(hdr)
	if !ok {
		return nil, errUnauthorized
	}
	if h.admin.Load().Check(secret) {
		return &caller{global: true}, nil
	}
	k, err := h.st.GetKeyByHash(ctx, auth.Hash(secret))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errUnauthorized
	case err != nil:
		h.log.Error("admin: key lookup", "err", err)
		return nil, &apiError{status: http.StatusServiceUnavailable, code: "store_unavailable", msg: "the key store is unreachable"}
	}
	now := h.now()
	if (k.RevokedAt != nil && !k.RevokedAt.After(now)) || (k.ExpiresAt != nil && !k.ExpiresAt.After(now)) {
		return nil, errUnauthorized
	}
	if k.Role != store.RoleTenantAdmin {
		return nil, errForbidden("this key has no admin access")
	}
	t, err := h.st.GetTenant(ctx, k.TenantID)
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound):
		// Not the key's fault: the dashboard would tell a valid tenant
		// admin its key is no admin key.
		h.log.Error("admin: tenant lookup", "err", err)
		return nil, &apiError{status: http.StatusServiceUnavailable, code: "store_unavailable", msg: "the key store is unreachable"}
	case err != nil || t.Disabled:
		return nil, errForbidden("this key's tenant is disabled")
	}
	return &caller{key: &k}, nil
}

// apiError is an admin API error answer.
type apiError struct {
	status     int
	code       string
	msg        string
	retryAfter int // seconds, for a Retry-After header; 0 for none
}

func (e *apiError) Error() string { return "admin: " + e.code + ": " + e.msg }

var (
	errUnauthorized = &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "invalid or missing admin key"}
	errNotFound     = &apiError{status: http.StatusNotFound, code: "not_found", msg: "no such object"}
)

func errForbidden(msg string) *apiError {
	return &apiError{status: http.StatusForbidden, code: "forbidden", msg: msg}
}

func errBad(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_request", msg: msg}
}

// storeErr translates a store error.
func (h *Handler) storeErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeErr(w, errNotFound)
	case errors.Is(err, store.ErrConflict):
		writeErr(w, &apiError{status: http.StatusConflict, code: "conflict", msg: "an object with this ID already exists"})
	case errors.Is(err, store.ErrInvalid):
		writeErr(w, errBad("invalid argument"))
	default:
		h.log.Error("admin: store", "err", err)
		writeErr(w, &apiError{status: http.StatusServiceUnavailable, code: "store_unavailable", msg: "the store is unreachable"})
	}
}

func writeErr(w http.ResponseWriter, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = &apiError{status: http.StatusInternalServerError, code: "internal_error", msg: "internal error"}
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeJSON(w, e.status, map[string]any{"error": map[string]string{"code": e.code, "message": e.msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body strictly: one value, no unknown fields and
// nothing after it (a second object or stray text is refused, not
// ignored, so a garbled or concatenated body changes nothing).
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	return decodeJSON(bytes.NewReader(body), v)
}

// maxBody bounds a request body.
const maxBody = 1 << 20

// readBody reads r's body: one declared or found longer than maxBody is a
// 413 (the declared length refused before any of it is read), one not in
// within the listener's read_timeout a 408, and one that cannot be read
// otherwise a 400 that does not repeat the read error (it names socket
// addresses).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if coding := httpmux.ContentCoding(r); coding != "" {
		// Read as JSON, a compressed body would be refused as malformed,
		// sending the client after a bug it does not have (audit AO1).
		w.Header().Set("Accept-Encoding", "identity")
		return nil, &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_content_encoding", msg: httpmux.CodingRefusal(coding)}
	}
	body, failure := httpmux.ReadBody(w, r, maxBody)
	switch failure {
	case httpmux.BodyRead:
		return body, nil
	case httpmux.BodyTooLarge:
		return nil, errTooLarge
	case httpmux.BodyTimeout:
		return nil, &apiError{status: http.StatusRequestTimeout, code: "request_timeout", msg: "the request body was not received within the server's read timeout"}
	}
	return nil, errBad("could not read the request body")
}

var errTooLarge = &apiError{status: http.StatusRequestEntityTooLarge, code: "request_too_large", msg: "the request body exceeds " + strconv.Itoa(maxBody) + " bytes"}

func decodeJSON(rd io.Reader, v any) error {
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errBad("invalid JSON body: " + jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errBad("invalid JSON body: it must hold one JSON value, with nothing after it")
	}
	return nil
}

// jsonProblem says what is wrong with a body encoding/json refused, in
// the API's words: a field of the wrong type by its JSON name and type
// (wirejson.DecodeProblem), not by the Go type it decodes into, and a time
// by the form it must have (audits AO1, AS6).
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &te):
		_, msg := wirejson.DecodeProblem(err)
		return msg
	case errors.As(err, &pe), strings.Contains(err.Error(), "Time.UnmarshalJSON"):
		return "a time must be an RFC 3339 string, such as \"2030-01-02T03:04:05Z\""
	case errors.Is(err, io.EOF):
		return "the body is empty"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func (h *Handler) whoami(w http.ResponseWriter, r *http.Request, c *caller) {
	out := map[string]any{"role": "global_admin"}
	if !c.global {
		out = map[string]any{"role": store.RoleTenantAdmin, "tenant_id": c.key.TenantID, "key_id": c.key.ID}
	}
	writeJSON(w, http.StatusOK, out)
}
