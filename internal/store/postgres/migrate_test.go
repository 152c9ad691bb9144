package postgres

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/storetest"
)

// TestMigrateTenantLimitsFromHiddenRow builds a version-1 schema holding a
// tenant's limits the old way (a hidden, revoked key row) and checks that
// opening it moves them to the tenant's columns and drops the row.
func TestMigrateTenantLimitsFromHiddenRow(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := store.ReadMigrations(migrationFS, "migrations")
	if err != nil || len(ms) < 2 || ms[0].Version != 1 {
		t.Fatalf("got %d migrations (%v), want 0001 and more", len(ms), err)
	}
	created := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []string{
		ms[0].SQL,
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
		`INSERT INTO schema_migrations(version, name) VALUES (1, '0001_init.sql')`,
		`INSERT INTO tenants(id, name, created, disabled) VALUES ('acme', 'Acme', '2030-01-01T00:00:00Z', false), ('beta', 'Beta', '2030-01-01T00:00:00Z', false)`,
		`INSERT INTO api_keys VALUES ('tlim_acme', 'acme', 'tenant limits', '\x01', '', 'tenant_limits', '{}',
			60, 1000, 4, 2.5, 40, NULL, '2030-01-01T00:00:00Z', '', '{}', '2030-01-01T00:00:00Z')`,
		`INSERT INTO api_keys VALUES ('key_1', 'acme', 'svc', '\x02', 'sk-sy-abcd', 'user', '{}',
			0, 0, 0, 0, 0, NULL, NULL, '', '{}', '2030-01-01T00:00:00Z')`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("build v1 schema: %v", err)
		}
	}
	conn.Close(ctx)

	s, err := Open(ctx, url)
	if err != nil {
		t.Fatalf("open v1 schema: %v", err)
	}
	defer s.Close()
	got, err := s.ListTenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Tenant{
		{ID: "acme", Name: "Acme", Created: created, RPM: 60, TPM: 1000, MaxConcurrent: 4, BudgetDailyUSD: 2.5, BudgetMonthlyUSD: 40},
		{ID: "beta", Name: "Beta", Created: created},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tenants after migration (-want +got):\n%s", diff)
	}
	keys, err := s.ListKeys(ctx, "")
	if err != nil || len(keys) != 1 || keys[0].ID != "key_1" {
		t.Errorf("got keys %+v (%v), want only key_1 (the hidden row deleted)", keys, err)
	}
}
