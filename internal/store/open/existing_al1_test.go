package open_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/store/open"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
	"github.com/switchyard-gw/switchyard/internal/store/storetest"
)

func sqliteTables(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return strings.Join(names, ",")
}

// Existing (route export's open) neither creates nor migrates a store: an
// empty file, another application's database, or a store an older version
// wrote is refused, and left as it was.
func TestExistingDoesNotMigrateSQLite(t *testing.T) {
	dir := t.TempDir()
	exec := func(path string, stmts ...string) {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				t.Fatal(err)
			}
		}
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.db")
	exec(other, `CREATE TABLE notes(id INTEGER)`)
	old := filepath.Join(dir, "old.db")
	st, err := open.Store(t.Context(), "sqlite://"+old)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	ms, err := sqlite.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	newest := ms[len(ms)-1].Version
	exec(old, fmt.Sprintf(`DELETE FROM schema_migrations WHERE version = %d`, newest)) // as a binary without the newest left it

	for _, tc := range []struct{ path, want string }{
		{empty, "not a Switchyard store"},
		{other, "not a Switchyard store"},
		{old, fmt.Sprintf("%d of this switchyard's %d migrations", len(ms)-1, len(ms))},
	} {
		before := sqliteTables(t, tc.path)
		st, err := open.Existing(context.Background(), "sqlite://"+tc.path)
		if err == nil {
			st.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: got %v, want an error naming it and saying %q", tc.path, err, tc.want)
		}
		if after := sqliteTables(t, tc.path); after != before {
			t.Errorf("%s: tables went from %q to %q", tc.path, before, after)
		}
	}
	db, err := sql.Open("sqlite", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms)-1 {
		t.Errorf("old store: %d migrations recorded (%v), want the %d it had", n, err, len(ms)-1)
	}
}

func TestExistingDoesNotMigratePostgres(t *testing.T) {
	u := storetest.PostgresURL(t) // a fresh, empty schema
	_, err := open.Existing(t.Context(), u)
	if err == nil || !strings.Contains(err.Error(), "not a Switchyard store") {
		t.Fatalf("got %v, want a not-a-store error", err)
	}
	c, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var n int
	if err := c.QueryRow(t.Context(), `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("got %d tables (%v) in the schema, want none", n, err)
	}
	st, err := open.Store(t.Context(), u) // a gateway writes it
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = open.Existing(t.Context(), u)
	if err != nil {
		t.Fatalf("got %v reading a current store", err)
	}
	st.Close()
}
