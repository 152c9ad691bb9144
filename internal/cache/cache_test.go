package cache_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/redisbacked/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, redistest.IgnoreDialRetry()) }

func TestKeySeparatesEveryPart(t *testing.T) {
	base := cache.Key("ten_a", "openai.chat", "auto", []byte(`{"model":"auto"}`))
	if !strings.HasPrefix(base, cache.TenantPrefix("ten_a")) || len(base) != 17+64 || strings.Contains(base, "ten_a") {
		t.Fatalf("key %q: want the tenant's prefix and a hex SHA-256, and no tenant ID", base)
	}
	if again := cache.Key("ten_a", "openai.chat", "auto", []byte(`{"model":"auto"}`)); again != base {
		t.Fatalf("same request, different keys: %s %s", base, again)
	}
	for name, k := range map[string]string{
		"tenant":   cache.Key("ten_b", "openai.chat", "auto", []byte(`{"model":"auto"}`)),
		"endpoint": cache.Key("ten_a", "anthropic.messages", "auto", []byte(`{"model":"auto"}`)),
		"route":    cache.Key("ten_a", "openai.chat", "smart", []byte(`{"model":"auto"}`)),
		"body":     cache.Key("ten_a", "openai.chat", "auto", []byte(`{"model":"auto" }`)),
		// Bytes moved from one part to the next must not collide.
		"boundary": cache.Key("ten_", "aopenai.chat", "auto", []byte(`{"model":"auto"}`)),
	} {
		if k == base {
			t.Errorf("a different %s gives the same key", name)
		}
	}
}

// contract checks what every Store does.
func contract(t *testing.T, s cache.Store) {
	ctx := context.Background()
	if e, err := s.Get(ctx, "missing"); e != nil || err != nil {
		t.Fatalf("Get(missing) = %v, %v; want nil, nil", e, err)
	}
	stored := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	body := []byte("data: {\"a\":1}\n\ndata: [DONE]\n\n")
	in := &cache.Entry{ContentType: "text/event-stream", Deployment: "sim-small", Model: "sim-small-2026", Stored: stored, Body: body}
	if err := s.Set(ctx, "k1", in, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "k1")
	if err != nil || got == nil {
		t.Fatalf("Get(k1) = %v, %v", got, err)
	}
	if got.ContentType != in.ContentType || got.Deployment != in.Deployment || got.Model != in.Model ||
		!got.Stored.Equal(stored) || !bytes.Equal(got.Body, body) {
		t.Fatalf("Get(k1) = %+v (body %q), want %+v", got, got.Body, in)
	}
	// Set replaces.
	if err := s.Set(ctx, "k1", &cache.Entry{ContentType: "application/json", Body: []byte(`{}`)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "k1"); got == nil || string(got.Body) != `{}` {
		t.Fatalf("after a second Set, Get(k1) = %+v", got)
	}
	// Delete removes one entry, and says whether there was one.
	if err := s.Set(ctx, "k10", &cache.Entry{Body: []byte("x")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Delete(ctx, "k1"); !ok || err != nil {
		t.Fatalf("Delete(k1) = %v, %v; want true", ok, err)
	}
	if e, _ := s.Get(ctx, "k1"); e != nil {
		t.Fatal("k1 survived Delete")
	}
	if e, _ := s.Get(ctx, "k10"); e == nil {
		t.Fatal("Delete(k1) took k10 too")
	}
	if ok, err := s.Delete(ctx, "k1"); ok || err != nil {
		t.Fatalf("Delete(k1) again = %v, %v; want false", ok, err)
	}
	if ok, err := s.Delete(ctx, "k10"); !ok || err != nil {
		t.Fatalf("Delete(k10) = %v, %v; want true", ok, err)
	}
	if err := s.Set(ctx, "k1", &cache.Entry{ContentType: "application/json", Body: []byte(`{}`)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	// Purge by prefix: one tenant's entries, then everything.
	for _, k := range []string{"a:1", "a:2", "b:1"} {
		if err := s.Set(ctx, k, &cache.Entry{Body: []byte("x")}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.Purge(ctx, "a:"); err != nil || n != 2 {
		t.Fatalf("Purge(a:) = %d, %v; want 2", n, err)
	}
	if e, _ := s.Get(ctx, "a:1"); e != nil {
		t.Error("a:1 survived its purge")
	}
	if e, _ := s.Get(ctx, "b:1"); e == nil {
		t.Error("b:1 purged with a:")
	}
	if n, err := s.Purge(ctx, ""); err != nil || n != 2 {
		t.Fatalf("Purge(\"\") = %d, %v; want 2 (k1 and b:1)", n, err)
	}
}

func TestMemory(t *testing.T) {
	contract(t, cache.NewMemory(1<<20, nil))
}

func TestMemoryExpires(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC))
	m := cache.NewMemory(1<<20, clock.Now)
	ctx := context.Background()
	_ = m.Set(ctx, "k", &cache.Entry{Body: []byte("x")}, time.Minute)
	clock.Advance(59 * time.Second)
	if e, _ := m.Get(ctx, "k"); e == nil {
		t.Fatal("entry gone before its TTL")
	}
	clock.Advance(time.Second)
	if e, _ := m.Get(ctx, "k"); e != nil {
		t.Fatal("entry served at its TTL")
	}
	if n := m.Len(); n != 0 {
		t.Fatalf("expired entry still held: Len = %d", n)
	}
}

// A purge counts the live entries it drops, as Redis does (it has dropped
// the expired ones already), and drops the expired ones too.
func TestMemoryPurgeCountsLiveEntries(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC))
	m := cache.NewMemory(1<<20, clock.Now)
	ctx := context.Background()
	for _, k := range []string{"t:1", "t:2", "t:3"} {
		_ = m.Set(ctx, k, &cache.Entry{Body: []byte("x")}, time.Minute)
	}
	clock.Advance(2 * time.Minute)
	_ = m.Set(ctx, "t:1", &cache.Entry{Body: []byte("x")}, time.Minute)
	if n, err := m.Purge(ctx, "t:"); n != 1 || err != nil {
		t.Errorf("Purge = %d, %v; want 1 (two of three expired)", n, err)
	}
	if n := m.Len(); n != 0 {
		t.Errorf("Len after purge = %d, want 0", n)
	}
}

func TestMemoryEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	body := bytes.Repeat([]byte("a"), 1000)
	// Room for three entries of ~1.26 KB, not four.
	m := cache.NewMemory(4000, nil)
	for _, k := range []string{"k1", "k2", "k3"} {
		_ = m.Set(ctx, k, &cache.Entry{Body: body}, time.Minute)
	}
	if e, _ := m.Get(ctx, "k1"); e == nil { // k1 is now the most recent
		t.Fatal("k1 evicted with room to spare")
	}
	_ = m.Set(ctx, "k4", &cache.Entry{Body: body}, time.Minute)
	if e, _ := m.Get(ctx, "k2"); e != nil {
		t.Error("k2, the least recently used, was kept")
	}
	for _, k := range []string{"k1", "k3", "k4"} {
		if e, _ := m.Get(ctx, k); e == nil {
			t.Errorf("%s evicted, want only k2 gone", k)
		}
	}
	// An entry larger than the bound is not kept and evicts nothing.
	_ = m.Set(ctx, "huge", &cache.Entry{Body: make([]byte, 5000)}, time.Minute)
	if e, _ := m.Get(ctx, "huge"); e != nil {
		t.Error("an entry larger than max_bytes was kept")
	}
	if n := m.Len(); n != 3 {
		t.Errorf("Len = %d after an oversized Set, want 3", n)
	}
}

func TestRedis(t *testing.T) {
	prefix := redistest.Prefix(t)
	client := redistest.NewClient(t, redistest.Addr)
	s := cache.NewRedis(client, prefix+"cache:")
	contract(t, s)

	ctx := context.Background()
	if err := s.Set(ctx, "ttl", &cache.Entry{Body: []byte("x")}, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	ttl, err := client.PTTL(ctx, prefix+"cache:ttl").Result()
	if err != nil || ttl <= 80*time.Second || ttl > 90*time.Second {
		t.Fatalf("PTTL = %v, %v; want the entry to expire in 90s", ttl, err)
	}
	// A value that is not an entry is an error, not a hit.
	if err := client.Set(ctx, prefix+"cache:junk", "no header line", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if e, err := s.Get(ctx, "junk"); e != nil || err == nil {
		t.Fatalf("Get(junk) = %v, %v; want an error", e, err)
	}

	// A key prefix holding glob characters purges only its own keys.
	star := cache.NewRedis(client, prefix+"a*:")
	other := cache.NewRedis(client, prefix+"ab:")
	for _, st := range []cache.Store{star, other} {
		if err := st.Set(ctx, "k", &cache.Entry{Body: []byte("x")}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := star.Purge(ctx, ""); n != 1 || err != nil {
		t.Errorf("purge of a*: = %d, %v; want its 1 key", n, err)
	}
	if e, _ := other.Get(ctx, "k"); e == nil {
		t.Error("purging prefix a*: removed ab:'s key")
	}
}
