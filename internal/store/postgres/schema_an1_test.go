package postgres

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/storetest"
)

func TestFirstSchema(t *testing.T) {
	tests := []struct {
		name, searchPath, want string
	}{
		{name: "one", searchPath: "switchyard", want: "switchyard"},
		{name: "unquoted folds to lower case", searchPath: "SwitchYard", want: "switchyard"},
		{name: "quoted keeps case and spaces", searchPath: `"Switch Yard"`, want: "Switch Yard"},
		{name: "quoted doubled quote", searchPath: `"a""b", public`, want: `a"b`},
		{name: "$user skipped", searchPath: `"$user", app`, want: "app"},
		{name: "unquoted $user skipped", searchPath: `$user,app`, want: "app"},
		{name: "system schemas skipped", searchPath: `pg_catalog, pg_temp, app`, want: "app"},
		{name: "spaces around", searchPath: "  app ,  public ", want: "app"},
		{name: "only $user", searchPath: `"$user"`},
		{name: "empty", searchPath: ""},
		{name: "empty entry", searchPath: ", app"},
		{name: "unterminated quote", searchPath: `"app`},
		{name: "junk after a name", searchPath: `"app" x, b`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := firstSchema(tc.searchPath); got != tc.want {
				t.Errorf("firstSchema(%q): got %q, want %q", tc.searchPath, got, tc.want)
			}
		})
	}
}

// freshDatabase creates an empty database for the test, dropped when it
// ends, and returns its URL (with search_path unset). It skips the test when
// PostgreSQL is unreachable, as storetest.PostgresURL does.
func freshDatabase(t *testing.T) string {
	t.Helper()
	base := storetest.PostgresURL(t) // skips, or fails under SWITCHYARD_TEST_SERVICES=require
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	admin := u.String()
	db := "sy_an1_" + strings.ToLower(store.NewID(""))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop database %s: %v", db, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", db, err)
		}
	})
	u.Path = "/" + db
	return u.String()
}

// withSearchPath adds pool_max_conns and search_path to a URL, with
// spaces as %20: pgx reads a + as itself.
func withSearchPath(raw, searchPath string) string {
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	return raw + sep + "pool_max_conns=8&search_path=" + strings.ReplaceAll(url.QueryEscape(searchPath), "+", "%20")
}

func tablesIn(t *testing.T, dbURL, schema string) map[string]bool {
	t.Helper()
	ctx := t.Context()
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, n := range names {
		got[n] = true
	}
	return got
}

// TestOpenCreatesSearchPathSchema opens, on a fresh database, the URL the
// operations guide gives for replicas (search_path naming a schema that
// does not exist yet): two stores opened at once both migrate, and the
// tables land in that schema (audit AN, AN1).
func TestOpenCreatesSearchPathSchema(t *testing.T) {
	tests := []struct {
		name, searchPath, schema string
	}{
		{name: "plain", searchPath: "switchyard", schema: "switchyard"},
		{name: "quoted, after $user", searchPath: `"$user", "Switch Yard"`, schema: "Switch Yard"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := freshDatabase(t)
			dsn := withSearchPath(db, tc.searchPath)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				wg.Go(func() {
					s, err := Open(t.Context(), dsn)
					if err == nil {
						s.Close()
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("open #%d: got %v, want nil", i+1, err)
				}
			}
			got := tablesIn(t, db, tc.schema)
			for _, want := range []string{"schema_migrations", "usage_records", "api_keys", "tenants"} {
				if !got[want] {
					t.Errorf("schema %q: table %s missing (got %v)", tc.schema, want, got)
				}
			}
			if pub := tablesIn(t, db, "public"); len(pub) != 0 {
				t.Errorf("schema public: got tables %v, want none", pub)
			}
			// Opening again finds the schema and applies nothing.
			s, err := Open(t.Context(), dsn)
			if err != nil {
				t.Fatalf("reopen: got %v, want nil", err)
			}
			s.Close()
		})
	}
}

// TestOpenSearchPathSchemaPrivilege: a role that may not create schemas gets
// an error naming the schema to create, and one given an existing schema
// opens without that privilege.
func TestOpenSearchPathSchemaPrivilege(t *testing.T) {
	db := freshDatabase(t)
	role := "sy_an1_" + strings.ToLower(store.NewID(""))
	ctx := t.Context()
	c, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "CREATE ROLE "+role+" LOGIN"); err != nil {
		t.Fatalf("create role: %v", err)
	}
	t.Cleanup(func() {
		// Before the database is dropped (cleanups run last first), so
		// what the role owns there can go with it.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, db)
		if err != nil {
			t.Errorf("drop role: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP OWNED BY "+role); err != nil {
			t.Errorf("drop owned: %v", err)
		}
		if _, err := c.Exec(ctx, "DROP ROLE "+role); err != nil {
			t.Errorf("drop role: %v", err)
		}
	})
	// Without CREATE on the database the role may not make the schema.
	if _, err := c.Exec(ctx, "REVOKE CREATE ON DATABASE "+pgx.Identifier{strings.TrimPrefix(mustURL(t, db).Path, "/")}.Sanitize()+" FROM PUBLIC"); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	u := mustURL(t, withSearchPath(db, "switchyard"))
	u.User = url.User(role)
	_, err = Open(ctx, u.String())
	if err == nil || !strings.Contains(err.Error(), `create schema "switchyard" named by search_path`) || !strings.Contains(err.Error(), "42501") {
		t.Fatalf("open without CREATE on the database: got %v, want an error naming schema \"switchyard\"", err)
	}
	// A schema that exists but that the role may not use is named too,
	// with what to grant (audit AS, AS3: it was the server's bare "no
	// schema has been selected to create in").
	if _, err := c.Exec(ctx, "CREATE SCHEMA other_owner"); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u2 := mustURL(t, withSearchPath(db, "other_owner"))
	u2.User = url.User(role)
	_, err = Open(ctx, u2.String())
	if err == nil || !strings.Contains(err.Error(), `schema "other_owner" named by search_path exists but this role cannot use it`) || !strings.Contains(err.Error(), `GRANT USAGE, CREATE ON SCHEMA "other_owner"`) {
		t.Fatalf("open on a schema the role may not use: got %v, want an error naming schema \"other_owner\" and the grant", err)
	}
	// A schema made for the role beforehand needs no such privilege.
	if _, err := c.Exec(ctx, "CREATE SCHEMA switchyard AUTHORIZATION "+role); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	s, err := Open(ctx, u.String())
	if err != nil {
		t.Fatalf("open with the schema made for the role: got %v, want nil", err)
	}
	s.Close()
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
