// Package open picks a store.Store implementation from a URL. It lives apart
// from package store because the implementations import store; main calls
// open.Store with the URL from the config.
package open

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	neturl "net/url"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/postgres"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

// Store opens the store named by url and applies pending migrations:
//
//	sqlite://PATH          a SQLite file (relative or, as sqlite:///abs/path, absolute)
//	sqlite://:memory:      a private in-memory SQLite database (tests, demos)
//	postgres://... or postgresql://...   PostgreSQL; see postgres.Open
func Store(ctx context.Context, url string) (store.Store, error) {
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		path := strings.TrimPrefix(url, "sqlite://")
		if path == "" {
			return nil, fmt.Errorf("open: sqlite url %q has no path", url)
		}
		return sqlite.Open(ctx, path)
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgres.Open(ctx, url)
	}
	scheme, _, _ := strings.Cut(url, "://")
	if scheme == url {
		scheme = "(none)"
	}
	// Only the scheme is echoed: the rest of a URL may hold a password.
	return nil, fmt.Errorf("open: unsupported store scheme %q (want sqlite:// or postgres://)", scheme)
}

// SchemaVersion is the newest migration this binary's stores apply (the
// highest NNNN of internal/store/{sqlite,postgres}/migrations; a test keeps
// the two in step).
const SchemaVersion = 7

// Existing is Store for commands that only read what a gateway recorded. It
// never creates or migrates a store: a SQLite file that does not exist is an
// error naming it (where Store would create an empty database, a mistyped
// path read as "no data"), and so is a database that is not a Switchyard
// store (no schema_migrations table: an empty file, another application's
// database) or one whose schema is older than this binary's (Store would
// migrate it under the gateways still running on it). It first reads the
// schema through a read-only connection; once that shows every migration
// applied, opening the store changes nothing.
func Existing(ctx context.Context, url string) (store.Store, error) {
	var applied int
	var err error
	name := "" // the store, for the error
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		path := strings.TrimPrefix(url, "sqlite://")
		if path == "" || path == ":memory:" {
			return Store(ctx, url) // no path (Store's error), or a private new database
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open: sqlite database %s: %w", path, errors.Unwrap(err))
		}
		name = "sqlite database " + path
		applied, err = sqliteSchema(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("open: sqlite database %s: %w", path, err)
		}
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		name = "postgres database"
		applied, err = postgresSchema(ctx, url)
		if err != nil {
			return nil, err
		}
	default:
		return Store(ctx, url) // the unsupported-scheme error
	}
	if applied < SchemaVersion {
		return nil, fmt.Errorf("open: %s: its schema has %d of this switchyard's %d migrations: it was written by an older version; "+
			"upgrade the gateway (it migrates its store on start) or use the switchyard version that wrote it (this command does not migrate)", name, applied, SchemaVersion)
	}
	return Store(ctx, url)
}

// errNotAStore is Existing's error for a database without Switchyard's tables.
var errNotAStore = errors.New("not a Switchyard store (it has no schema_migrations table; point at the store a gateway writes, this command does not create one)")

// sqliteSchema counts the migrations 1..SchemaVersion applied to the SQLite
// database at path, reading through a query-only connection.
func sqliteSchema(ctx context.Context, path string) (int, error) {
	db, err := sql.Open("sqlite", "file:"+(&neturl.URL{Path: path}).EscapedPath()+"?_pragma=query_only(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, errNotAStore
	}
	err = db.QueryRowContext(ctx, `SELECT count(DISTINCT version) FROM schema_migrations WHERE version BETWEEN 1 AND ?`, SchemaVersion).Scan(&n)
	return n, err
}

// postgresSchema counts the migrations 1..SchemaVersion applied to the
// PostgreSQL database at rawURL (in its search_path), in a read-only
// transaction.
func postgresSchema(ctx context.Context, rawURL string) (int, error) {
	cfg, _, err := postgres.ParseURL(rawURL)
	if err != nil {
		return 0, err
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0, fmt.Errorf("open: postgres: %w", err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	var n int
	err = pgx.BeginTxFunc(ctx, c, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return errNotAStore
		}
		return tx.QueryRow(ctx, `SELECT count(DISTINCT version) FROM schema_migrations WHERE version BETWEEN 1 AND $1`, SchemaVersion).Scan(&n)
	})
	if errors.Is(err, errNotAStore) {
		return 0, fmt.Errorf("open: postgres database %s: %w", cfg.Database, err)
	}
	if err != nil {
		return 0, fmt.Errorf("open: postgres: %w", err)
	}
	return n, nil
}
