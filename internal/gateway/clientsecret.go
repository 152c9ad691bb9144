package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/reqid"
)

// A client secret (POST /v1/realtime/client_secrets, as OpenAI's API has
// it) is a short-lived key a server hands to a browser page, which opens
// a Realtime session with it instead of a real key. The gateway's are
// signed tokens, not stored keys: "ek_sy_" PAYLOAD "." MAC, the payload
// naming the key that made it (so the session is that key's, with its
// limits, budgets and routes, and ends with it if it is revoked; a static
// key, which has no id, by a tag of it, so a secret ends with the key's
// removal from the config), when it expires and the model it is for. They open Realtime sessions only; any
// other endpoint does not know them. The session settings the request
// gives are kept in the affinity store until the secret expires and sent
// upstream as a session.update when the session opens.
const (
	clientSecretPrefix = "ek_sy_"
	// Bounds of expires_after.seconds, and its default (OpenAI's).
	minClientSecretTTL     = 10
	maxClientSecretTTL     = 7200
	defaultClientSecretTTL = 600
	// maxClientSecretLen bounds a token read (a key and a model name).
	maxClientSecretLen = 1024
)

// clientSecret is what a client secret carries.
type clientSecret struct {
	ID    string `json:"i"`
	KeyID string `json:"k,omitempty"`
	// Static tags the static key (server.api_keys, master_key) that made
	// the secret: see staticKeyTag.
	Static  string `json:"s,omitempty"`
	Tenant  string `json:"t,omitempty"`
	Expires int64  `json:"x"`
	Model   string `json:"m,omitempty"`
}

// signingKey is what client secrets are signed with: the config's
// server.client_secret_key, else this process's random key.
func (g *Gateway) signingKey(rt *runtime) []byte {
	if k := rt.cfg.Server.ClientSecretKey.Value(); k != "" {
		return []byte(k)
	}
	return g.secretKey[:]
}

func clientSecretMAC(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(clientSecretPrefix + payload))
	return m.Sum(nil)
}

// staticKeyTag names static key key in a client secret without giving it
// away: a MAC of it under the signing key, which a secret's holder cannot
// test guesses of the key against.
func staticKeyTag(signing []byte, key string) string {
	m := hmac.New(sha256.New, signing)
	m.Write([]byte("static-key:" + key))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// staticKeys lists the static keys of cfg: server.api_keys and the master
// key, as the guards accept them.
func staticKeys(cfg *config.Config) []string {
	keys := make([]string, 0, len(cfg.Server.APIKeys)+1)
	for _, k := range cfg.Server.APIKeys {
		keys = append(keys, k.Value())
	}
	return append(keys, cfg.Server.MasterKey.Value())
}

// staticKeyHash is the digest of the static key of rt's config that
// client secret tag names, or false when rt has no such key (it was
// removed from the config since).
func (g *Gateway) staticKeyHash(rt *runtime, tag string) ([32]byte, bool) {
	signing := g.signingKey(rt)
	for _, k := range staticKeys(rt.cfg) {
		if k != "" && hmac.Equal([]byte(staticKeyTag(signing, k)), []byte(tag)) {
			return auth.Hash(k), true
		}
	}
	return [32]byte{}, false
}

// staticKeyConfigured reports whether rt's config still has the static key
// of digest hash.
func staticKeyConfigured(rt *runtime, hash [32]byte) bool {
	for _, k := range staticKeys(rt.cfg) {
		if k != "" && auth.Hash(k) == hash {
			return true
		}
	}
	return false
}

// mint signs cs into a client secret.
func mintClientSecret(key []byte, cs clientSecret) (string, error) {
	b, err := json.Marshal(cs)
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return clientSecretPrefix + payload + "." + base64.RawURLEncoding.EncodeToString(clientSecretMAC(key, payload)), nil
}

var errBadClientSecret = errors.New("gateway: invalid or expired client secret")

// readClientSecret checks a client secret's signature and expiry at now.
func readClientSecret(key []byte, token string, now time.Time) (clientSecret, error) {
	var cs clientSecret
	rest, ok := strings.CutPrefix(token, clientSecretPrefix)
	if !ok || len(token) > maxClientSecretLen {
		return cs, errBadClientSecret
	}
	payload, mac, ok := strings.Cut(rest, ".")
	if !ok {
		return cs, errBadClientSecret
	}
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil || !hmac.Equal(got, clientSecretMAC(key, payload)) {
		return cs, errBadClientSecret
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(b, &cs) != nil || now.Unix() >= cs.Expires {
		return clientSecret{}, errBadClientSecret
	}
	return cs, nil
}

func clientSecretSessionKey(tenant, id string) string {
	return cache.TenantPrefix(tenant) + "eks:" + id
}

// ServeRealtimeClientSecrets serves POST /v1/realtime/client_secrets: a
// client secret for a Realtime session of the caller's key, valid for
// expires_after.seconds (10 to 7200, default 600), for the model that
// session.model names (a route or deployment with capabilities.realtime;
// without one, the first such deployment).
func (g *Gateway) ServeRealtimeClientSecrets(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, openAIDialect, "switchyard.realtime.client_secrets")
	defer g.finish(r.Context(), x)
	rt, body, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	root := gjson.ParseBytes(body)
	if msg := objectProblem(body); msg != "" {
		g.failErr(w, x, badField("", msg))
		return
	}
	ttl := int64(defaultClientSecretTTL)
	if s := root.Get("expires_after.seconds"); s.Exists() {
		if s.Type != gjson.Number || s.Num != float64(s.Int()) || s.Int() < minClientSecretTTL || s.Int() > maxClientSecretTTL {
			g.failErr(w, x, badField("expires_after.seconds", "expires_after.seconds must be a whole number from 10 to 7200"))
			return
		}
		ttl = s.Int()
	}
	session := root.Get("session")
	if session.Exists() && !session.IsObject() {
		g.failErr(w, x, badField("session", "session must be an object"))
		return
	}
	model := session.Get("model")
	if model.Exists() && model.Type != gjson.String {
		g.failErr(w, x, badField("session.model", "session.model must be a string"))
		return
	}
	name := model.Str
	if name == "" {
		name = rt.firstWith(config.CapRealtime, nil)
	}
	if _, ae := rt.passthroughPlan(x, relayed{model: name, capability: config.CapRealtime, serves: servesRealtime, what: "the Realtime API"}); ae != nil {
		g.fail(w, x, ae)
		return
	}
	if !x.who.allows(x.decision.Route) {
		g.fail(w, x, routeNotAllowed(x.decision.Route))
		return
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	expires := g.now().Add(time.Duration(ttl) * time.Second)
	cs := clientSecret{ID: hex.EncodeToString(id[:]), KeyID: x.who.KeyID, Tenant: x.who.TenantID, Expires: expires.Unix(), Model: name}
	if cs.KeyID == "" {
		// A static key has no id: the secret names it by its tag. (The
		// key of an open gateway's caller may be no configured key.)
		if key, ok := auth.FromHeader(r.Header); ok {
			if staticKeyConfigured(rt, auth.Hash(key)) {
				cs.Static = staticKeyTag(g.signingKey(rt), key)
			}
		}
	}
	// The session's settings (less its model, which the route names) go
	// upstream when the session opens.
	settings := []byte(session.Raw)
	if session.Exists() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(settings, &m); err == nil {
			delete(m, "model")
			settings, _ = json.Marshal(m)
		}
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		err := g.affinity.Set(ctx, clientSecretSessionKey(cs.Tenant, cs.ID), &cache.Entry{Body: settings}, time.Duration(ttl)*time.Second)
		cancel()
		if err != nil {
			g.log.Warn("client secret session store failed", "request_id", reqid.From(r.Context()), "err", err)
			g.fail(w, x, errResponseStore)
			return
		}
	}
	token, err := mintClientSecret(g.signingKey(rt), cs)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	out, _ := json.Marshal(struct {
		Value     string          `json:"value"`
		ExpiresAt int64           `json:"expires_at"`
		Session   json.RawMessage `json:"session"`
	}{token, cs.Expires, sessionObject(settings, name)})
	x.status = http.StatusOK
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// sessionUpdate is the session.update event that applies settings (a
// session object without its model) upstream.
func sessionUpdate(settings []byte) []byte {
	m := map[string]json.RawMessage{}
	_ = json.Unmarshal(settings, &m)
	if _, ok := m["type"]; !ok {
		m["type"] = json.RawMessage(`"realtime"`)
	}
	b, _ := json.Marshal(struct {
		Type    string                     `json:"type"`
		Session map[string]json.RawMessage `json:"session"`
	}{"session.update", m})
	return b
}

// sessionObject is the session a client secret is for, as the answer
// shows it: its settings, with type and model.
func sessionObject(settings []byte, model string) json.RawMessage {
	m := map[string]json.RawMessage{}
	_ = json.Unmarshal(settings, &m)
	m["model"], _ = json.Marshal(model)
	if _, ok := m["type"]; !ok {
		m["type"] = json.RawMessage(`"realtime"`)
	}
	b, _ := json.Marshal(m)
	return b
}

// badField is a 400 naming the field at fault, in OpenAI's format.
func badField(param, msg string) error {
	return &openaiapi.BadRequestError{Param: param, Message: msg}
}

// principalResolver is a Guard that can name the principal of a key by
// its id (the tenancy layer's).
type principalResolver interface {
	Principal(ctx context.Context, keyID string) (*Principal, error)
}

// clientSecretOf is the client secret a Realtime handshake presents (as
// its bearer key, or a browser's key subprotocol), "" when it presents
// none.
func clientSecretOf(r *http.Request) string {
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && strings.HasPrefix(v, clientSecretPrefix) {
		return strings.TrimSpace(v)
	}
	for _, p := range websocketProtocols(r) {
		if v, ok := strings.CutPrefix(p, keyProtocol); ok && strings.HasPrefix(v, clientSecretPrefix) {
			return v
		}
	}
	return ""
}

// clientSecretPrincipal checks a client secret and returns who its
// session is for: the key that made it, as the guard knows it now (a
// revoked key's secrets open nothing, nor do a static key's once the
// config no longer has it), and for a static key's secret the key's
// digest, for the session's checks.
func (g *Gateway) clientSecretPrincipal(ctx context.Context, rt *runtime, token string) (clientSecret, *Principal, *[32]byte, error) {
	cs, err := readClientSecret(g.signingKey(rt), token, g.now())
	if err != nil {
		return cs, nil, nil, errInvalidKey
	}
	if cs.KeyID == "" {
		if cs.Static == "" {
			return cs, anonymous, nil, nil // made on an open gateway
		}
		hash, ok := g.staticKeyHash(rt, cs.Static)
		if !ok {
			return cs, nil, nil, errInvalidKey
		}
		return cs, anonymous, &hash, nil
	}
	pr, ok := rt.guard.(principalResolver)
	if !ok {
		return cs, nil, nil, errInvalidKey
	}
	p, err := pr.Principal(ctx, cs.KeyID)
	return cs, p, nil, err
}

// clientSecretSettings is the session settings kept for client secret cs
// (nil when none were given, or they are gone).
func (g *Gateway) clientSecretSettings(ctx context.Context, cs clientSecret) []byte {
	ctx, cancel := context.WithTimeout(ctx, affinityTimeout)
	defer cancel()
	e, err := g.affinity.Get(ctx, clientSecretSessionKey(cs.Tenant, cs.ID))
	if err != nil || e == nil {
		return nil
	}
	return e.Body
}
