package tenancy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/budget"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/logtest"
	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/redisbacked/redistest"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, redistest.IgnoreDialRetry()) }

// flaky is a store whose key reads fail while down is set, and which
// counts them.
type flaky struct {
	store.Store
	down  atomic.Bool
	reads atomic.Int64
}

var errDown = errors.New("flaky: store down")

func (f *flaky) GetKeyByHash(ctx context.Context, h [32]byte) (store.Key, error) {
	f.reads.Add(1)
	if f.down.Load() {
		return store.Key{}, errDown
	}
	return f.Store.GetKeyByHash(ctx, h)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	st  *flaky
	clk *clock
	g   *Guard
}

func newFixture(t testing.TB, open bool, static ...string) *fixture {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	clk := &clock{t: time.Date(2030, 5, 10, 12, 0, 0, 0, time.UTC)}
	f := &flaky{Store: s}
	g := New(Options{Store: f, StaticKeys: static, Open: open, Now: clk.Now, CacheTTL: 5 * time.Second})
	return &fixture{st: f, clk: clk, g: g}
}

// addKey creates tenant (if needed) and a key with secret and the given
// settings, returning the key's ID.
func (f *fixture) addKey(t testing.TB, tenant, secret string, mod func(*store.Key)) string {
	t.Helper()
	ctx := context.Background()
	if _, err := f.st.GetTenant(ctx, tenant); errors.Is(err, store.ErrNotFound) {
		if err := f.st.CreateTenant(ctx, store.Tenant{ID: tenant, Name: tenant, Created: f.clk.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	k := store.Key{ID: store.NewID("key"), TenantID: tenant, Name: "k", Hash: auth.Hash(secret), Role: store.RoleUser, Created: f.clk.Now()}
	if mod != nil {
		mod(&k)
	}
	if err := f.st.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	return k.ID
}

func bearer(key string) http.Header {
	h := http.Header{}
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
	return h
}

func deniedCode[T any](_ T, err error) string { return codeOf(err) }

func codeOf(err error) string {
	var d *gateway.Denied
	if errors.As(err, &d) {
		return d.Code
	}
	if err != nil {
		return "error:" + err.Error()
	}
	return ""
}

func TestAuthenticate(t *testing.T) {
	f := newFixture(t, false, "static-key")
	ctx := context.Background()
	id := f.addKey(t, "t1", "sk-live", func(k *store.Key) { k.Tier = "gold"; k.AllowedRoutes = []string{"cheap"} })
	expired := f.clk.Now().Add(-time.Minute)
	f.addKey(t, "t1", "sk-expired", func(k *store.Key) { k.ExpiresAt = &expired })
	f.addKey(t, "t2", "sk-disabled", nil)
	if err := f.st.UpdateTenant(ctx, store.Tenant{ID: "t2", Name: "t2", Disabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.UpdateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", RPM: 5, Tier: "bronze"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, key, code, tenant string
	}{
		{name: "virtual", key: "sk-live", tenant: "t1"},
		{name: "static", key: "static-key"},
		{name: "missing", key: "", code: "invalid_api_key"},
		{name: "unknown", key: "sk-nope", code: "invalid_api_key"},
		{name: "expired", key: "sk-expired", code: "expired_api_key"},
		{name: "tenant disabled", key: "sk-disabled", code: "tenant_disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.g.Authenticate(ctx, bearer(tt.key))
			if got := codeOf(err); got != tt.code {
				t.Fatalf("got code %q, want %q", got, tt.code)
			}
			if err == nil && p.TenantID != tt.tenant {
				t.Errorf("got tenant %q, want %q", p.TenantID, tt.tenant)
			}
		})
	}
	p, _ := f.g.Authenticate(ctx, bearer("sk-live"))
	if p.KeyID != id || p.Tier != "gold" || len(p.AllowedRoutes) != 1 {
		t.Errorf("got principal %+v, want key %s tier gold routes [cheap]", p, id)
	}
	f.addKey(t, "t1", "sk-no-tier", nil)
	if p, err := f.g.Authenticate(ctx, bearer("sk-no-tier")); err != nil || p.Tier != "bronze" {
		t.Errorf("got principal %+v (%v), want the tenant's tier bronze for a key with none", p, err)
	}
}

func TestRevokedWithinTTL(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	id := f.addKey(t, "t1", "sk-live", nil)
	if _, err := f.g.Authenticate(ctx, bearer("sk-live")); err != nil {
		t.Fatalf("got %v, want the key accepted", err)
	}
	if err := f.st.RevokeKey(ctx, id, f.clk.Now()); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(4 * time.Second)
	if _, err := f.g.Authenticate(ctx, bearer("sk-live")); err != nil {
		t.Fatalf("got %v within the TTL, want the cached key still accepted", err)
	}
	f.clk.Add(time.Second)
	if got := deniedCode(f.g.Authenticate(ctx, bearer("sk-live"))); got != "invalid_api_key" {
		t.Fatalf("got %q after the TTL, want invalid_api_key", got)
	}
}

func TestStoreDown(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	f.addKey(t, "t1", "sk-known", nil)
	if _, err := f.g.Authenticate(ctx, bearer("sk-known")); err != nil {
		t.Fatal(err)
	}
	f.st.down.Store(true)
	f.clk.Add(time.Hour)
	if _, err := f.g.Authenticate(ctx, bearer("sk-known")); err != nil {
		t.Errorf("got %v, want a cached key to keep working while the store is down", err)
	}
	var d *gateway.Denied
	_, err := f.g.Authenticate(ctx, bearer("sk-unknown"))
	if !errors.As(err, &d) || d.Status != http.StatusServiceUnavailable || d.Code != "auth_unavailable" {
		t.Errorf("got %v, want 503 auth_unavailable for an unknown key", err)
	}
	f.st.down.Store(false)
	f.clk.Add(storeBackoffMin) // the store is read again once the backoff has passed
	if got := deniedCode(f.g.Authenticate(ctx, bearer("sk-unknown"))); got != "invalid_api_key" {
		t.Errorf("got %q after recovery, want invalid_api_key", got)
	}
}

// After an admin change that revokes nothing (Refresh), the next lookup
// asks the store, but a store outage then serves what was known; after a
// revocation (Forget) it fails closed.
func TestRefreshKeepsServingThroughAnOutage(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	id := f.addKey(t, "t1", "sk-a", nil)
	other := f.addKey(t, "t1", "sk-b", nil)
	for _, k := range []string{"sk-a", "sk-b"} {
		if _, err := f.g.Authenticate(ctx, bearer(k)); err != nil {
			t.Fatal(err)
		}
	}
	f.g.Refresh(id)
	f.st.down.Store(true)
	if _, err := f.g.Authenticate(ctx, bearer("sk-a")); err != nil {
		t.Errorf("refreshed key with the store down: got %v, want it served from what was known", err)
	}
	f.g.RefreshTenant("t1")
	if _, err := f.g.Authenticate(ctx, bearer("sk-b")); err != nil {
		t.Errorf("tenant refreshed with the store down: got %v, want sk-b served", err)
	}
	f.g.Forget(other)
	if got := deniedCode(f.g.Authenticate(ctx, bearer("sk-b"))); got != "auth_unavailable" {
		t.Errorf("forgotten key with the store down: got %q, want auth_unavailable (fail closed)", got)
	}
	f.st.down.Store(false)
	f.clk.Add(time.Second)
	if _, err := f.g.Authenticate(ctx, bearer("sk-a")); err != nil {
		t.Errorf("after the outage: %v", err)
	}
}

func TestLookupsCachedAndShared(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	f.addKey(t, "t1", "sk-live", nil)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := f.g.Authenticate(ctx, bearer("sk-live")); err != nil {
				t.Errorf("got %v, want accepted", err)
			}
		})
	}
	wg.Wait()
	for range 5 {
		f.g.Authenticate(ctx, bearer("sk-bogus"))
	}
	if got := f.st.reads.Load(); got > 3 {
		t.Errorf("got %d store reads for 20 concurrent lookups of one key and 5 of another, want at most 3", got)
	}
}

func TestOpenGateway(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	id := f.addKey(t, "t1", "sk-live", nil)
	for _, key := range []string{"", "sk-anything"} {
		p, err := f.g.Authenticate(ctx, bearer(key))
		if err != nil || p.KeyID != "" {
			t.Errorf("key %q: got %+v, %v, want anonymous", key, p, err)
		}
	}
	if p, _ := f.g.Authenticate(ctx, bearer("sk-live")); p.KeyID != id {
		t.Errorf("got key %q, want a known key charged even when open", p.KeyID)
	}
}

func TestAdmitLimits(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	f.addKey(t, "t1", "sk-rpm", func(k *store.Key) { k.RPM = 2 })
	f.addKey(t, "t1", "sk-other", nil)
	f.addKey(t, "t2", "sk-budget", func(k *store.Key) { k.BudgetDailyUSD = 1 })
	if err := f.st.UpdateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", MaxConcurrent: 3}); err != nil {
		t.Fatal(err)
	}
	admit := func(key string, cost float64) (gateway.Admission, error) {
		p, err := f.g.Authenticate(ctx, bearer(key))
		if err != nil {
			t.Fatal(err)
		}
		return f.g.Admit(ctx, p, "r", 10, cost)
	}
	for i := range 2 {
		if _, err := admit("sk-rpm", 0); err != nil {
			t.Fatalf("request %d: got %v, want admitted", i, err)
		}
	}
	_, err := admit("sk-rpm", 0)
	var d *gateway.Denied
	if !errors.As(err, &d) || d.Status != 429 || d.Code != CodeRateLimited || d.RetryAfter < time.Second {
		t.Fatalf("got %+v, want 429 rate_limit_exceeded with Retry-After", err)
	}
	if want := "rate limit exceeded: the requests-per-minute (rpm) limit of API key "; len(d.Message) < len(want) || d.Message[:len(want)] != want {
		t.Errorf("got message %q, want it to name the limit", d.Message)
	}
	// The tenant's concurrency (3) is shared by its keys; two slots are held above.
	a, err := admit("sk-other", 0)
	if err != nil {
		t.Fatalf("got %v, want the third slot", err)
	}
	if got := deniedCode(admit("sk-other", 0)); got != CodeRateLimited {
		t.Fatalf("got %q, want the tenant's concurrency limit", got)
	}
	a.Settle(5, 5, 0)
	if _, err := admit("sk-other", 0); err != nil {
		t.Fatalf("got %v after a settle, want a slot free", err)
	}
	// Budget: $1 a day; a $0.6 estimate fits once.
	b, err := admit("sk-budget", 0.6)
	if err != nil {
		t.Fatal(err)
	}
	// Held by a request in flight: worth a retry soon, and said so.
	_, err = admit("sk-budget", 0.6)
	if !errors.As(err, &d) || d.Code != budget.ErrorCode || d.Status != 429 || d.RetryAfter != time.Second || !strings.Contains(d.Message, "has $0.40 left") {
		t.Fatalf("got %+v, want 429 budget_exceeded, $0.40 left, retrying in a second", err)
	}
	// Bigger than the whole budget: waiting does not help.
	_, err = admit("sk-budget", 1.5)
	if !errors.As(err, &d) || d.Code != budget.ErrorCode || d.RetryAfter != 0 || !strings.Contains(d.Message, "worst-case cost ($1.50, ") || !strings.Contains(d.Message, "is more than the daily budget") {
		t.Fatalf("got %+v, want 429 budget_exceeded naming the request's worst case, no Retry-After", err)
	}
	b.Settle(1, 1, 0.1)
	c, err := admit("sk-budget", 0.6)
	if err != nil {
		t.Fatalf("got %v after settling to $0.1, want room", err)
	}
	// Spent: retry at midnight UTC.
	c.Settle(1, 1, 0.9)
	_, err = admit("sk-budget", 0.6)
	if !errors.As(err, &d) || d.RetryAfter != 12*time.Hour || !strings.Contains(d.Message, "is spent") {
		t.Fatalf("got %+v, want 429 budget_exceeded, spent, retrying at midnight UTC", err)
	}
}

// TestExtend: a Realtime session's admission charges each response to
// the budget as it ends, refusing the one that does not fit, and its
// settle charges only the rest: the day's spend is the session's cost,
// not more or less.
func TestExtend(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	f.addKey(t, "t1", "sk-voice", func(k *store.Key) { k.BudgetDailyUSD = 2 })
	p, err := f.g.Authenticate(ctx, bearer("sk-voice"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.g.Admit(ctx, p, "r", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := a.(gateway.Budgeted)
	for i, cost := range []float64{0.6, 0.6} {
		if err := b.Extend(ctx, cost); err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
	}
	// 1.2 charged, 0.8 left: a $0.9 request beside the session does not
	// fit, nor does a third $0.9 response.
	if _, err := f.g.Admit(ctx, p, "r", 0, 0.9); codeOf(err) != budget.ErrorCode {
		t.Errorf("a $0.9 request beside the session: %v, want budget_exceeded", err)
	}
	if err := b.Extend(ctx, 0.9); codeOf(err) != budget.ErrorCode {
		t.Fatalf("third response: got %v, want budget_exceeded", err)
	}
	a.Settle(10, 10, 1.5) // the session's cost: 1.2 charged, 0.3 more
	// Spent 1.5 exactly: 0.5 fits, 0.55 does not.
	if _, err := f.g.Admit(ctx, p, "r", 0, 0.55); codeOf(err) != budget.ErrorCode {
		t.Errorf("$0.55 after the session: %v, want budget_exceeded (spent 1.5)", err)
	}
	if _, err := f.g.Admit(ctx, p, "r", 0, 0.5); err != nil {
		t.Errorf("$0.5 after the session: %v, want room (spent 1.5)", err)
	}
}

func TestBudgetWarmedFromUsage(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	id := f.addKey(t, "t1", "sk-b", func(k *store.Key) { k.BudgetMonthlyUSD = 10 })
	if err := f.st.InsertUsage(ctx, []store.UsageRecord{{RequestID: "r1", Time: f.clk.Now().Add(-time.Hour), TenantID: "t1", KeyID: id, CostUSD: 9.5}}); err != nil {
		t.Fatal(err)
	}
	p, err := f.g.Authenticate(ctx, bearer("sk-b"))
	if err != nil {
		t.Fatal(err)
	}
	if got := deniedCode(f.g.Admit(ctx, p, "r", 1, 1)); got != budget.ErrorCode {
		t.Errorf("got %q, want budget_exceeded from spend already in the store", got)
	}
	if _, err := f.g.Admit(ctx, p, "r", 1, 0.4); err != nil {
		t.Errorf("got %v, want the remaining $0.5 usable", err)
	}
}

func TestStaticAndAnonymousUnlimited(t *testing.T) {
	f := newFixture(t, false, "static")
	a, err := f.g.Admit(context.Background(), anonymous, "r", 1e9, 1e9)
	if err != nil || a == nil {
		t.Fatalf("got %v, want static callers unlimited", err)
	}
	a.Settle(1, 1, 1)
}

// limiterFunc lets a test script the limiter.
type limiterFunc func(ratelimit.Request) (ratelimit.Ticket, error)

func (f limiterFunc) Admit(_ context.Context, r ratelimit.Request) (ratelimit.Ticket, error) {
	return f(r)
}

func TestLimiterFailureIsNotUnlimited(t *testing.T) {
	f := newFixture(t, false)
	f.g.limiter = limiterFunc(func(ratelimit.Request) (ratelimit.Ticket, error) { return nil, errors.New("boom") })
	f.addKey(t, "t1", "sk", func(k *store.Key) { k.RPM = 1 })
	p, err := f.g.Authenticate(context.Background(), bearer("sk"))
	if err != nil {
		t.Fatal(err)
	}
	if got := deniedCode(f.g.Admit(context.Background(), p, "r", 1, 0)); got != "limits_unavailable" {
		t.Errorf("got %q, want limits_unavailable", got)
	}
}

func BenchmarkAuthenticateAdmit(b *testing.B) {
	f := newFixture(b, false, "static")
	f.addKey(b, "t1", "sk-bench", func(k *store.Key) {
		k.RPM = 1 << 30
		k.TPM = 1 << 40
		k.MaxConcurrent = 1 << 20
		k.BudgetDailyUSD = 1e6
	})
	ctx := context.Background()
	h := bearer("sk-bench")
	b.ReportAllocs()
	for b.Loop() {
		p, err := f.g.Authenticate(ctx, h)
		if err != nil {
			b.Fatal(err)
		}
		a, err := f.g.Admit(ctx, p, "r", 100, 1e-6)
		if err != nil {
			b.Fatal(err)
		}
		a.Settle(50, 50, 1e-6)
	}
}

// canceledLimiter fails as a Redis limiter does when the request's context
// ends during the call.
type canceledLimiter struct{ ratelimit.Limiter }

func (canceledLimiter) Admit(ctx context.Context, _ ratelimit.Request) (ratelimit.Ticket, error) {
	return nil, fmt.Errorf("ratelimit: redis admit: %w", ctx.Err())
}

// TestAdmitClientGone: a client that leaves while its limits are checked
// is refused as gone (499), not as a gateway failure (503 and an error
// log line).
func TestAdmitClientGone(t *testing.T) {
	f := newFixture(t, false)
	f.addKey(t, "t1", "sk-rpm", func(k *store.Key) { k.RPM = 2 })
	var logs logtest.Buffer
	f.g = New(Options{Store: f.st, Limiter: canceledLimiter{}, Now: f.clk.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	p, err := f.g.Authenticate(context.Background(), bearer("sk-rpm"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var d *gateway.Denied
	if _, err := f.g.Admit(ctx, p, "r", 10, 0); !errors.As(err, &d) || d.Status != 499 || d.Code != "client_cancelled" {
		t.Errorf("got %v, want 499 client_cancelled", err)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("logged %q, want no error for a client that left", logs.String())
	}
}
