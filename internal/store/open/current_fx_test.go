package open

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/postgres"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

// Existing wants every migration the store's implementation applies, read
// from its embedded files, not a count kept by hand beside them: a store
// a gateway just migrated is current, and the same store is older than a
// binary with one more migration (as the next NNNN file makes it).
func TestExistingWantsTheImplementationsMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := Store(t.Context(), "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	applied, err := sqliteSchema(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		migrations func() ([]store.Migration, error)
	}{{"sqlite", sqlite.Migrations}, {"postgres", postgres.Migrations}} {
		ms, err := tc.migrations()
		if err != nil || len(ms) == 0 {
			t.Fatalf("%s.Migrations: %d, %v", tc.name, len(ms), err)
		}
		if len(applied) != len(ms) {
			t.Errorf("%s: %d migrations, a new SQLite store records %d", tc.name, len(ms), len(applied))
		}
		if err := current("db", ms, applied); err != nil {
			t.Errorf("%s: a store the gateway migrated: %v", tc.name, err)
		}
		next := append(ms[:len(ms):len(ms)], store.Migration{Version: ms[len(ms)-1].Version + 1, Name: "next.sql"})
		err = current("db", next, applied)
		if want := "has " + strconv.Itoa(len(ms)) + " of this switchyard's " + strconv.Itoa(len(next)) + " migrations"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s with one more migration: got %v, want %q", tc.name, err, want)
		}
	}
	if _, err := Existing(t.Context(), "sqlite://"+path); err != nil {
		t.Errorf("Existing on a current store: %v", err)
	}
}
