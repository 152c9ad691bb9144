package sqlite

import (
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// TestMigrateTenantLimitsFromHiddenRow builds a version-1 database holding
// a tenant's limits the old way (a hidden, revoked key row) and checks that
// opening it moves them to the tenant's columns and drops the row.
func TestMigrateTenantLimitsFromHiddenRow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := store.ReadMigrations(migrationFS, "migrations")
	if err != nil || len(ms) < 2 || ms[0].Version != 1 {
		t.Fatalf("got migrations %v (%v), want 0001 and more", len(ms), err)
	}
	for _, q := range []string{
		ms[0].SQL,
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 0)`,
		`INSERT INTO tenants(id, name, created_us, disabled) VALUES ('acme', 'Acme', 1, 0), ('beta', 'Beta', 2, 0)`,
		`INSERT INTO api_keys VALUES ('tlim_acme', 'acme', 'tenant limits', randomblob(32), '', 'tenant_limits', '[]',
			60, 1000, 4, 2.5, 40, NULL, 1, '', '{}', 1)`,
		`INSERT INTO api_keys VALUES ('key_1', 'acme', 'svc', randomblob(32), 'sk-sy-abcd', 'user', '[]',
			0, 0, 0, 0, 0, NULL, NULL, '', '{}', 1)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("build v1 database: %v", err)
		}
	}
	db.Close()

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open v1 database: %v", err)
	}
	defer s.Close()
	got, err := s.ListTenants(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Tenant{
		{ID: "acme", Name: "Acme", Created: fromMicros(1), RPM: 60, TPM: 1000, MaxConcurrent: 4, BudgetDailyUSD: 2.5, BudgetMonthlyUSD: 40},
		{ID: "beta", Name: "Beta", Created: fromMicros(2)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tenants after migration (-want +got):\n%s", diff)
	}
	keys, err := s.ListKeys(t.Context(), "")
	if err != nil || len(keys) != 1 || keys[0].ID != "key_1" {
		t.Errorf("got keys %+v (%v), want only key_1 (the hidden row deleted)", keys, err)
	}
}

// TestMigrateFeedbackPerTenant builds a version-6 database holding a
// rating and checks that opening it keeps the rating, now under its
// request and tenant, where another tenant may rate the same id.
func TestMigrateFeedbackPerTenant(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v6.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := store.ReadMigrations(migrationFS, "migrations")
	if err != nil || len(ms) < 7 || ms[5].Version != 6 {
		t.Fatalf("got %d migrations (%v), want 0006 and more", len(ms), err)
	}
	qs := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL)`}
	for _, m := range ms[:6] {
		qs = append(qs, m.SQL, `INSERT INTO schema_migrations VALUES (`+strconv.Itoa(m.Version)+`, 'm', 0)`)
	}
	qs = append(qs, `INSERT INTO feedback VALUES ('req_1', 'acme', 0.75, 5)`)
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("build v6 database: %v", err)
		}
	}
	db.Close()

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open v6 database: %v", err)
	}
	defer s.Close()
	if err := s.PutFeedback(t.Context(), store.Feedback{RequestID: "req_1", TenantID: "beta", Quality: 0}); err != nil {
		t.Errorf("another tenant rating the same id: %v", err)
	}
	var q float64
	if err := s.r.QueryRowContext(t.Context(), `SELECT quality FROM feedback WHERE request_id = 'req_1' AND tenant_id = 'acme'`).Scan(&q); err != nil || q != 0.75 {
		t.Errorf("acme's rating after the migration: %v (%v), want 0.75 kept", q, err)
	}
}
