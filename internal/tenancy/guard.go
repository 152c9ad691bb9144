package tenancy

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/budget"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// Defaults of Options.
const (
	DefaultCacheTTL      = 5 * time.Second
	DefaultLookupTimeout = 2 * time.Second
	// maxCached bounds the cache; beyond it, entries past their TTL are
	// dropped, then the unknown-key entries.
	maxCached = 100_000
	// After a failed store read, no lookup reads the store for
	// storeBackoffMin, doubling while reads keep failing, up to
	// storeBackoffMax: a store that hangs delays one lookup per backoff
	// by the lookup timeout, not every one.
	storeBackoffMin = time.Second
	storeBackoffMax = 5 * time.Second
)

// Options wire a Guard.
type Options struct {
	// Store holds tenants and virtual keys; required.
	Store store.Store
	// Limiter enforces RPM, TPM and concurrency; default an in-memory one.
	Limiter ratelimit.Limiter
	// Budgets enforces USD budgets; default an in-memory one.
	Budgets budget.Budgets
	// StaticKeys are keys from the config (server.api_keys and
	// server.master_key) accepted without limits; SetStatic replaces them.
	StaticKeys []string
	// Open admits requests without a key (or with an unknown one) as an
	// anonymous caller, like the gateway's default guard with no keys
	// configured. Keys that are found are still charged.
	Open bool
	// CacheTTL is how long a key lookup is trusted; default 5s.
	CacheTTL time.Duration
	// LookupTimeout bounds one store lookup; default 2s.
	LookupTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives store errors; default discards.
	Logger *slog.Logger
}

// Guard is a gateway.Guard over virtual keys, rate limits and budgets. Safe
// for concurrent use.
type Guard struct {
	st      store.Store
	limiter ratelimit.Limiter
	budgets budget.Budgets
	ttl     time.Duration
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger
	static  atomic.Pointer[staticKeys]
	flight  singleflight.Group
	warming singleflight.Group // by scope and period (warm)

	mu     sync.RWMutex
	byHash map[[32]byte]*entry
	byKey  map[string]*entry
	// seeded holds, per scope, the budgets its counters were last warmed
	// from the usage records for (see seed).
	seeded  map[string]budgetLimits
	storeOK atomic.Bool

	// While the store fails (storeOK false), it is read again from
	// retryAt on, by one lookup at a time; backoff is the next wait.
	backoffMu sync.Mutex
	retryAt   time.Time
	backoff   time.Duration
}

// budgetLimits are the daily and monthly budgets of a scope.
type budgetLimits struct{ daily, monthly float64 }

var _ gateway.Guard = (*Guard)(nil)

type staticKeys struct {
	keys *auth.Static
	open bool
}

// entry is one cached lookup: a usable key with its tenant, or (key nil) a
// hash no key has.
type entry struct {
	hash      [32]byte
	key       *store.Key
	principal *gateway.Principal
	disabled  bool // the tenant is disabled
	tenant    Limits
	// tenantScope is the tenant's scope, "tenant:ID".
	tenantScope string
	fetched     time.Time
}

// anonymous is the caller of an open gateway and of static keys.
var anonymous = &gateway.Principal{}

// New returns a Guard.
func New(opts Options) *Guard {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Limiter == nil {
		opts.Limiter = ratelimit.NewMemory(opts.Now)
	}
	if opts.Budgets == nil {
		opts.Budgets = budget.NewMemory(opts.Now)
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.LookupTimeout <= 0 {
		opts.LookupTimeout = DefaultLookupTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Guard{
		st: opts.Store, limiter: opts.Limiter, budgets: opts.Budgets,
		ttl: opts.CacheTTL, timeout: opts.LookupTimeout, now: opts.Now, log: opts.Logger,
		byHash: make(map[[32]byte]*entry), byKey: make(map[string]*entry), seeded: make(map[string]budgetLimits),
	}
	g.storeOK.Store(true)
	g.backoff = storeBackoffMin
	g.SetStatic(opts.Open, opts.StaticKeys...)
	return g
}

// Open reports whether the gateway now takes requests without a key.
func (g *Guard) Open() bool { return g.static.Load().open }

// SetStatic replaces the static keys and the open flag, for config reloads.
func (g *Guard) SetStatic(open bool, keys ...string) {
	g.static.Store(&staticKeys{keys: auth.NewStatic(keys...), open: open})
}

// Authenticate implements gateway.Guard.
func (g *Guard) Authenticate(ctx context.Context, h http.Header) (*gateway.Principal, error) {
	sk := g.static.Load()
	key, ok := auth.FromHeader(h)
	if !ok {
		if sk.open {
			return anonymous, nil
		}
		return nil, errInvalidKey
	}
	if sk.keys.Check(key) {
		return anonymous, nil
	}
	e, err := g.lookup(ctx, auth.Hash(key))
	if err != nil {
		if sk.open {
			return anonymous, nil
		}
		return nil, err
	}
	if e.key == nil && sk.open {
		return anonymous, nil
	}
	return g.check(e)
}

// check refuses a cached entry's key when it is unknown, revoked or
// expired, or its tenant is disabled; else it is the key's caller.
func (g *Guard) check(e *entry) (*gateway.Principal, error) {
	if e.key == nil {
		return nil, errInvalidKey
	}
	now := g.now()
	switch {
	case e.key.RevokedAt != nil && !e.key.RevokedAt.After(now):
		return nil, e.refused(errInvalidKey)
	case e.key.ExpiresAt != nil && !e.key.ExpiresAt.After(now):
		return nil, e.refused(errExpiredKey)
	case e.disabled:
		return nil, e.refused(errTenantDisabled)
	}
	return e.principal, nil
}

// refused is d for the entry's key: the refusal is recorded against its
// tenant and key.
func (e *entry) refused(d *gateway.Denied) *gateway.Denied {
	c := *d
	c.Who = e.principal
	return &c
}

// lookup returns the cached entry for hash, reading the store when it is
// missing or older than the TTL. A stale entry serves while the store
// fails; a hash never seen fails closed. After a failed read the store is
// left alone for a backoff (see readDue), during which these answers come
// at once; then one lookup reads it, in the background when it has a
// stale entry to serve meanwhile.
func (g *Guard) lookup(ctx context.Context, hash [32]byte) (*entry, error) {
	now := g.now()
	g.mu.RLock()
	e := g.byHash[hash]
	g.mu.RUnlock()
	if e != nil && now.Sub(e.fetched) < g.ttl {
		return e, nil
	}
	if !g.storeOK.Load() {
		due := g.readDue(now)
		switch {
		case !due && e != nil:
			return e, nil
		case !due:
			return nil, errAuthUnavailable
		case e != nil:
			// Serve what we knew while this read finds out whether the
			// store is back: one that hangs delays no request of a key
			// seen before.
			g.flight.DoChan(string(hash[:]), func() (any, error) {
				return g.load(context.WithoutCancel(ctx), hash)
			})
			return e, nil
		}
		// A key never seen waits for the read: it has nothing else.
	}
	v, err, _ := g.flight.Do(string(hash[:]), func() (any, error) {
		return g.load(context.WithoutCancel(ctx), hash)
	})
	if err != nil {
		if e != nil {
			return e, nil // keep serving what we knew
		}
		return nil, errAuthUnavailable
	}
	return v.(*entry), nil
}

// load reads a key and its tenant from the store and caches the result.
func (g *Guard) load(ctx context.Context, hash [32]byte) (*entry, error) {
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	e := &entry{hash: hash, fetched: g.now()}
	k, err := g.st.GetKeyByHash(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		g.storeFailed(err)
		return nil, err
	case subtle.ConstantTimeCompare(k.Hash[:], hash[:]) != 1:
		// Not a usable key: cache as unknown.
	default:
		t, err := g.st.GetTenant(ctx, k.TenantID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			g.storeFailed(err)
			return nil, err
		}
		lim := TenantLimits(t)
		e.key = &k
		e.disabled = t.Disabled || t.ID == ""
		e.tenant = lim
		e.principal = principalOf(k, t)
		e.tenantScope = "tenant:" + k.TenantID
		g.seed(ctx, "key:"+k.ID, KeyLimits(k))
		g.seed(ctx, e.tenantScope, lim)
	}
	if !g.storeOK.Load() {
		g.backoffMu.Lock()
		g.backoff, g.retryAt = storeBackoffMin, time.Time{}
		g.backoffMu.Unlock()
		if !g.storeOK.Swap(true) {
			g.log.Info("tenancy: key store reachable again")
		}
	}
	g.put(e)
	return e, nil
}

// storeFailed records a failed store read: the store is not read again
// for the backoff, which doubles for the next failure.
func (g *Guard) storeFailed(err error) {
	g.backoffMu.Lock()
	g.retryAt = g.now().Add(g.backoff)
	g.backoff = min(2*g.backoff, storeBackoffMax)
	g.backoffMu.Unlock()
	if g.storeOK.Swap(false) {
		g.log.Warn("tenancy: key store unreachable; cached keys keep working, unknown keys are refused", "err", err)
	}
}

// readDue reports whether a lookup may read the store while it fails:
// once its backoff has passed, and then for one lookup at a time (the
// others are answered as during the backoff until that read ends).
func (g *Guard) readDue(now time.Time) bool {
	g.backoffMu.Lock()
	defer g.backoffMu.Unlock()
	if now.Before(g.retryAt) {
		return false
	}
	g.retryAt = now.Add(g.timeout)
	return true
}

func (g *Guard) put(e *entry) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.byHash) >= maxCached {
		g.evictLocked(e.fetched)
	}
	g.byHash[e.hash] = e
	if e.key != nil {
		g.byKey[e.key.ID] = e
	}
}

// evictLocked drops expired entries and, if that is not enough, every
// unknown-key entry.
func (g *Guard) evictLocked(now time.Time) {
	for h, e := range g.byHash {
		if now.Sub(e.fetched) >= g.ttl {
			g.drop(h, e)
		}
	}
	if len(g.byHash) < maxCached {
		return
	}
	for h, e := range g.byHash {
		if e.key == nil {
			g.drop(h, e)
		}
	}
}

func (g *Guard) drop(h [32]byte, e *entry) {
	delete(g.byHash, h)
	if e.key != nil && g.byKey[e.key.ID] == e {
		delete(g.byKey, e.key.ID)
	}
}

// seed warms the budget counters of scope from the usage records when its
// budgets l are new to this process or have changed. Admit charges the
// counters only while a scope (or the other scope of the request) has a
// budget, so spend made while it had none is missing from them: it is
// read again when a budget is set. A warm-up that fails is tried again at
// the next lookup.
func (g *Guard) seed(ctx context.Context, scope string, l Limits) {
	want := budgetLimits{l.BudgetDailyUSD, l.BudgetMonthlyUSD}
	g.mu.RLock()
	got, ok := g.seeded[scope]
	g.mu.RUnlock()
	switch {
	case want == budgetLimits{}:
		if ok {
			g.mu.Lock()
			delete(g.seeded, scope)
			g.mu.Unlock()
		}
		return
	case ok && got == want:
		return
	}
	for _, p := range []budget.Period{budget.Daily, budget.Monthly} {
		if err := g.warmPeriod(ctx, scope, p); err != nil {
			g.log.Warn("tenancy: warm budget from usage", "scope", scope, "err", err)
			return
		}
	}
	g.mu.Lock()
	g.seeded[scope] = want
	g.mu.Unlock()
}

// budgeted reports whether scope has a budget in what this process last
// read: a cached key may still hold its tenant's limits of before a
// budget was set, which another of its keys has read since.
func (g *Guard) budgeted(scope string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	_, ok := g.seeded[scope]
	return ok
}

// warmPeriod seeds the spend of scope ("key:ID" or "tenant:ID") in the
// current period p with what the usage records hold.
func (g *Guard) warmPeriod(ctx context.Context, scope string, p budget.Period) error {
	now := g.now().UTC()
	q := store.SpendQuery{Since: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)}
	if p == budget.Monthly {
		q.Since = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	if id, ok := strings.CutPrefix(scope, "key:"); ok {
		q.KeyID = id
	} else {
		q.TenantID = strings.TrimPrefix(scope, "tenant:")
	}
	spent, err := g.st.SpentUSD(ctx, q)
	if err != nil {
		return fmt.Errorf("tenancy: read spend: %w", err)
	}
	if err := g.budgets.Seed(ctx, scope, p, spent); err != nil {
		return fmt.Errorf("tenancy: seed budget: %w", err)
	}
	return nil
}

// reserve reserves costUSD against the budgets of scopes. A counter the
// budgets report not seeded (Redis lost it, or its period has just begun)
// is warmed from the usage records first, once for all the requests that
// find it so; when the records cannot be read, it is marked seeded with
// what it holds (or the spend this replica last saw in it), and seed warms
// it again at the scope's next lookup.
func (g *Guard) reserve(ctx context.Context, scopes []budget.BudgetScope, costUSD float64) (budget.Reservation, error) {
	r, err := g.budgets.Reserve(ctx, scopes, costUSD)
	var se *budget.SeedError
	if !errors.As(err, &se) {
		return r, err
	}
	for _, n := range se.Need {
		_, _, _ = g.warming.Do(n.Scope+"|"+string(n.Period), func() (any, error) {
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.timeout)
			defer cancel()
			err := g.warmPeriod(wctx, n.Scope, n.Period)
			if err == nil {
				return nil, nil
			}
			g.log.Warn("tenancy: warm budget from usage; counting from what the budget counter holds", "scope", n.Scope, "period", n.Period, "err", err)
			g.mu.Lock()
			delete(g.seeded, n.Scope)
			g.mu.Unlock()
			return nil, g.budgets.Seed(wctx, n.Scope, n.Period, 0)
		})
	}
	// Warmed now (or as good as it gets): reserve without asking again.
	again := slices.Clone(scopes)
	for i := range again {
		again[i].Seeded = false
	}
	return g.budgets.Reserve(ctx, again, costUSD)
}

// Forget drops every cached lookup of keyID, so a change made through this
// process's admin API applies at once rather than after the TTL.
func (g *Guard) Forget(keyID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.byKey[keyID]; e != nil {
		g.drop(e.hash, e)
	}
}

// Refresh makes the next lookup of keyID ask the store, as Forget does,
// but keeps the cached entry to serve while the store fails: for a change
// that takes nothing away from the key's right to be served (new limits,
// routes or metadata), which must not turn a key into one never seen
// (auth_unavailable) during a store outage. Revoking and rotating Forget.
func (g *Guard) Refresh(keyID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.byKey[keyID]; e != nil {
		g.expire(e)
	}
}

// RefreshTenant is Refresh for every cached key of tenantID.
func (g *Guard) RefreshTenant(tenantID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, e := range g.byHash {
		if e.key != nil && e.key.TenantID == tenantID {
			g.expire(e)
		}
	}
}

// expire replaces e with a copy fetched at the zero time, so the next
// lookup reloads it (entries are read without the lock: never changed in
// place); g.mu is held.
func (g *Guard) expire(e *entry) {
	c := *e
	c.fetched = time.Time{}
	g.byHash[e.hash] = &c
	if e.key != nil && g.byKey[e.key.ID] == e {
		g.byKey[e.key.ID] = &c
	}
}

// ForgetTenant drops every cached lookup of tenantID's keys.
func (g *Guard) ForgetTenant(tenantID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for h, e := range g.byHash {
		if e.key != nil && e.key.TenantID == tenantID {
			g.drop(h, e)
		}
	}
}

var (
	errInvalidKey      = &gateway.Denied{Status: http.StatusUnauthorized, Code: "invalid_api_key", Type: "authentication_error", Message: "invalid or missing API key"}
	errExpiredKey      = &gateway.Denied{Status: http.StatusUnauthorized, Code: "expired_api_key", Type: "authentication_error", Message: "the API key has expired"}
	errTenantDisabled  = &gateway.Denied{Status: http.StatusForbidden, Code: "tenant_disabled", Type: "permission_error", Message: "the API key's tenant is disabled"}
	errAuthUnavailable = &gateway.Denied{Status: http.StatusServiceUnavailable, Code: "auth_unavailable", Type: "api_error", Message: "the key store is unreachable and this API key is not cached; retry later", RetryAfter: time.Second}
)

// Principal returns the caller the stored key keyID acts as, refused like
// Authenticate refuses it (revoked, expired, tenant disabled), and keeps
// the key in the cache Admit reads, as Authenticate does. An empty keyID
// is the anonymous caller of a static key or an open gateway. The batch
// worker calls it before each line, to run it as the key that created
// the batch.
func (g *Guard) Principal(ctx context.Context, keyID string) (*gateway.Principal, error) {
	if keyID == "" {
		return anonymous, nil
	}
	k, err := g.st.GetKey(ctx, keyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvalidKey
	}
	if err != nil {
		g.storeFailed(err)
		return nil, errAuthUnavailable
	}
	e, err := g.lookup(ctx, k.Hash)
	if err != nil {
		return nil, errAuthUnavailable
	}
	return g.check(e)
}

// principalOf is the caller key k of tenant t acts as; the key's tier, else
// the tenant's.
func principalOf(k store.Key, t store.Tenant) *gateway.Principal {
	tier := k.Tier
	if tier == "" {
		tier = t.Tier
	}
	return &gateway.Principal{TenantID: k.TenantID, KeyID: k.ID, Tier: tier, Metadata: k.Metadata, AllowedRoutes: k.AllowedRoutes}
}
