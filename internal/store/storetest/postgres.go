package storetest

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// DefaultPostgresURL is the test database used when SWITCHYARD_TEST_POSTGRES_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL returns a URL whose search_path is a fresh schema in the test
// database, dropped when the test ends. When PostgreSQL is unreachable the
// test is skipped, or fails if SWITCHYARD_TEST_SERVICES=require.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	raw := os.Getenv("SWITCHYARD_TEST_POSTGRES_URL")
	if raw == "" {
		raw = DefaultPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		if os.Getenv("SWITCHYARD_TEST_SERVICES") == "require" {
			tb.Fatalf("postgres at %s unreachable and SWITCHYARD_TEST_SERVICES=require: %v", redact(raw), err)
		}
		tb.Skipf("postgres at %s unreachable (set SWITCHYARD_TEST_SERVICES=require to fail instead): %v", redact(raw), err)
	}
	defer conn.Close(ctx)
	schema := "storetest_" + store.NewID("")
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, raw)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatalf("parse postgres url: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}
