// Package storetest is the conformance suite every store.Store must pass,
// plus helpers that give tests a fresh PostgreSQL schema. The sqlite and
// postgres packages run Run against themselves, so both backends behave the
// same to their callers.
package storetest

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// Opener returns a new, empty store; the suite closes it.
type Opener func(t *testing.T) store.Store

// Run runs the conformance suite, opening a fresh store for each subtest.
func Run(t *testing.T, open Opener) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Tenants", testTenants},
		{"Keys", testKeys},
		{"KeyScoping", testKeyScoping},
		{"KeyUpdateRevoke", testKeyUpdateRevoke},
		{"UsageIdempotent", testUsageIdempotent},
		{"UsageConcurrent", testUsageConcurrent},
		{"UsageExport", testUsageExport},
		{"UsageQuery", testUsageQuery},
		{"SpentUSD", testSpentUSD},
		{"UsageAbsurdRecords", testUsageAbsurdRecords},
		{"UsageCostSumExact", testUsageCostSumExact},
		{"UsageCostSumPerRecord", testUsageCostSumPerRecord},
		{"Files", testFiles},
		{"Batches", testBatches},
		{"BatchResults", testBatchResults},
		{"BatchLeases", testBatchLeases},
		{"BatchRetention", testBatchRetention},
		{"Learning", testLearning},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			if err := s.Ping(t.Context()); err != nil {
				t.Fatalf("ping: got %v, want nil", err)
			}
			tc.fn(t, s)
		})
	}
}

// base is a microsecond-exact UTC time the suite builds its data around.
var base = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

func mustTenant(t *testing.T, s store.Store, id string) store.Tenant {
	t.Helper()
	tn := store.Tenant{ID: id, Name: "Tenant " + id, Created: base}
	if err := s.CreateTenant(t.Context(), tn); err != nil {
		t.Fatalf("create tenant %s: %v", id, err)
	}
	return tn
}

func newKey(tenantID, id string, created time.Time) store.Key {
	return store.Key{
		ID: id, TenantID: tenantID, Name: "key " + id,
		Hash:   sha256.Sum256([]byte("secret-" + id)),
		Prefix: "sy-" + id[:2], Role: store.RoleUser, Created: created,
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func testTenants(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := store.Tenant{ID: "ten_a", Name: "Acme", Created: base.Add(time.Second),
		RPM: 600, TPM: 90_000, MaxConcurrent: 12, BudgetDailyUSD: 12.5, BudgetMonthlyUSD: 300.25, Tier: "gold"}
	b := store.Tenant{ID: "ten_b", Name: "Beta", Created: base, Disabled: true}
	for _, tn := range []store.Tenant{a, b} {
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatalf("create %s: %v", tn.ID, err)
		}
	}
	wantErr(t, "create duplicate", s.CreateTenant(ctx, a), store.ErrConflict)

	got, err := s.GetTenant(ctx, "ten_a")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("get tenant (-want +got):\n%s", diff)
	}
	_, err = s.GetTenant(ctx, "ten_missing")
	wantErr(t, "get missing", err, store.ErrNotFound)

	list, err := s.ListTenants(ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if diff := cmp.Diff([]store.Tenant{b, a}, list); diff != "" {
		t.Errorf("list tenants, ordered by creation (-want +got):\n%s", diff)
	}

	a.Name, a.Disabled = "Acme Corp", true
	a.RPM, a.TPM, a.MaxConcurrent, a.BudgetDailyUSD, a.BudgetMonthlyUSD, a.Tier = 60, 0, 3, 0, 99.5, "silver"
	changed := a
	changed.Created = base.Add(time.Hour) // not updatable
	if err := s.UpdateTenant(ctx, changed); err != nil {
		t.Fatalf("update: %v", err)
	}
	got, err = s.GetTenant(ctx, "ten_a")
	if err != nil {
		t.Fatalf("get after update: %v", err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("tenant after update (-want +got):\n%s", diff)
	}
	wantErr(t, "update missing", s.UpdateTenant(ctx, store.Tenant{ID: "ten_missing"}), store.ErrNotFound)
}

func testKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustTenant(t, s, "ten_a")
	exp := base.Add(30 * 24 * time.Hour)
	full := store.Key{
		ID: "key_full", TenantID: "ten_a", Name: "prod",
		Hash: sha256.Sum256([]byte("sy-secret")), Prefix: "sy-secr",
		Role: store.RoleTenantAdmin, AllowedRoutes: []string{"smart", "gpt-4o"},
		RPM: 600, TPM: 100000, MaxConcurrent: 8,
		BudgetDailyUSD: 12.5, BudgetMonthlyUSD: 300.25,
		ExpiresAt: &exp, Tier: "gold",
		Metadata: map[string]string{"team": "search", "env": "prod"},
		Created:  base.Add(123456 * time.Microsecond),
	}
	minimal := newKey("ten_a", "key_min", base)

	wantErr(t, "create key for missing tenant", s.CreateKey(ctx, newKey("ten_missing", "key_x", base)), store.ErrNotFound)
	for _, k := range []store.Key{full, minimal} {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatalf("create key %s: %v", k.ID, err)
		}
	}
	dupHash := newKey("ten_a", "key_other", base)
	dupHash.Hash = full.Hash
	wantErr(t, "create key with taken hash", s.CreateKey(ctx, dupHash), store.ErrConflict)
	dupID := newKey("ten_a", "key_min", base)
	dupID.Hash = sha256.Sum256([]byte("different"))
	wantErr(t, "create key with taken id", s.CreateKey(ctx, dupID), store.ErrConflict)

	tests := []struct {
		name string
		get  func() (store.Key, error)
		want store.Key
	}{
		{"by hash full", func() (store.Key, error) { return s.GetKeyByHash(ctx, full.Hash) }, full},
		{"by id full", func() (store.Key, error) { return s.GetKey(ctx, "key_full") }, full},
		{"by hash minimal", func() (store.Key, error) { return s.GetKeyByHash(ctx, minimal.Hash) }, minimal},
		{"by id minimal", func() (store.Key, error) { return s.GetKey(ctx, "key_min") }, minimal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.get()
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("key (-want +got):\n%s", diff)
			}
		})
	}
	_, err := s.GetKeyByHash(ctx, sha256.Sum256([]byte("unknown")))
	wantErr(t, "get by unknown hash", err, store.ErrNotFound)
	_, err = s.GetKey(ctx, "key_missing")
	wantErr(t, "get missing key", err, store.ErrNotFound)
}

func testKeyScoping(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustTenant(t, s, "ten_a")
	mustTenant(t, s, "ten_b")
	for i, k := range []store.Key{
		newKey("ten_a", "ka1", base.Add(2*time.Second)),
		newKey("ten_b", "kb1", base.Add(1*time.Second)),
		newKey("ten_a", "ka2", base.Add(3*time.Second)),
	} {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatalf("create key %d: %v", i, err)
		}
	}
	tests := []struct {
		name   string
		tenant string
		want   []string
	}{
		{"tenant a", "ten_a", []string{"ka1", "ka2"}},
		{"tenant b", "ten_b", []string{"kb1"}},
		{"unknown tenant", "ten_c", nil},
		{"all tenants", "", []string{"kb1", "ka1", "ka2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := s.ListKeys(ctx, tc.tenant)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			var got []string
			for _, k := range keys {
				if tc.tenant != "" && k.TenantID != tc.tenant {
					t.Errorf("key %s of tenant %s listed for tenant %s", k.ID, k.TenantID, tc.tenant)
				}
				got = append(got, k.ID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("listed key IDs (-want +got):\n%s", diff)
			}
		})
	}
}

func testKeyUpdateRevoke(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustTenant(t, s, "ten_a")
	mustTenant(t, s, "ten_b")
	orig := newKey("ten_a", "key_u", base)
	if err := s.CreateKey(ctx, orig); err != nil {
		t.Fatalf("create: %v", err)
	}
	exp := base.Add(time.Hour)
	upd := orig
	upd.Name, upd.Role, upd.AllowedRoutes = "renamed", store.RoleTenantAdmin, []string{"cheap"}
	upd.RPM, upd.TPM, upd.MaxConcurrent = 10, 20, 3
	upd.BudgetDailyUSD, upd.BudgetMonthlyUSD = 1.5, 40
	upd.ExpiresAt, upd.Tier, upd.Metadata = &exp, "silver", map[string]string{"k": "v"}
	attempt := upd // immutable fields changed too: the store must keep the originals
	attempt.TenantID = "ten_b"
	attempt.Hash = sha256.Sum256([]byte("new"))
	attempt.Prefix = "zz"
	attempt.Created = base.Add(time.Minute)
	if err := s.UpdateKey(ctx, attempt); err != nil {
		t.Fatalf("update: %v", err)
	}
	got, err := s.GetKey(ctx, "key_u")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if diff := cmp.Diff(upd, got); diff != "" {
		t.Errorf("key after update (-want +got):\n%s", diff)
	}
	wantErr(t, "update missing", s.UpdateKey(ctx, newKey("ten_a", "key_missing", base)), store.ErrNotFound)

	first, second := base.Add(2*time.Hour), base.Add(3*time.Hour)
	if err := s.RevokeKey(ctx, "key_u", first); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if err := s.RevokeKey(ctx, "key_u", second); err != nil {
		t.Fatalf("revoke again: %v", err)
	}
	got, err = s.GetKeyByHash(ctx, orig.Hash)
	if err != nil {
		t.Fatalf("get revoked by hash: %v", err)
	}
	if got.RevokedAt == nil || !got.RevokedAt.Equal(first) {
		t.Errorf("revoked at: got %v, want %v", got.RevokedAt, first)
	}
	// A later update must not clear the revocation.
	if err := s.UpdateKey(ctx, upd); err != nil {
		t.Fatalf("update revoked: %v", err)
	}
	if got, _ = s.GetKey(ctx, "key_u"); got.RevokedAt == nil {
		t.Errorf("revoked at after update: got nil, want %v", first)
	}
	wantErr(t, "revoke missing", s.RevokeKey(ctx, "key_missing", first), store.ErrNotFound)
}
