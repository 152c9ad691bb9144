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

// Existing is Store for commands that only read what a gateway recorded. It
// never creates or migrates a store: a SQLite file that does not exist is an
// error naming it (where Store would create an empty database, a mistyped
// path read as "no data"), and so is a database that is not a Switchyard
// store (no schema_migrations table: an empty file, another application's
// database) or one whose schema is older than this binary's (Store would
// migrate it under the gateways still running on it): one lacking any of
// the migrations its implementation applies (sqlite.Migrations,
// postgres.Migrations). It first reads the schema through a read-only
// connection; once that shows every migration applied, opening the store
// changes nothing.
func Existing(ctx context.Context, url string) (store.Store, error) {
	var applied map[int]bool
	var ms []store.Migration
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
		if ms, err = sqlite.Migrations(); err != nil {
			return nil, fmt.Errorf("open: %w", err)
		}
		if applied, err = sqliteSchema(ctx, path); err != nil {
			return nil, fmt.Errorf("open: sqlite database %s: %w", path, err)
		}
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		name = "postgres database"
		if ms, err = postgres.Migrations(); err != nil {
			return nil, fmt.Errorf("open: %w", err)
		}
		if applied, err = postgresSchema(ctx, url); err != nil {
			return nil, err
		}
	default:
		return Store(ctx, url) // the unsupported-scheme error
	}
	if err := current(name, ms, applied); err != nil {
		return nil, err
	}
	return Store(ctx, url)
}

// current is Existing's error for a store, name, whose applied migration
// versions lack one of ms, the migrations this binary's implementation of
// it applies.
func current(name string, ms []store.Migration, applied map[int]bool) error {
	n := 0
	for _, m := range ms {
		if applied[m.Version] {
			n++
		}
	}
	if n < len(ms) {
		return fmt.Errorf("open: %s: its schema has %d of this switchyard's %d migrations: it was written by an older version; "+
			"upgrade the gateway (it migrates its store on start) or use the switchyard version that wrote it (this command does not migrate)", name, n, len(ms))
	}
	return nil
}

// errNotAStore is Existing's error for a database without Switchyard's tables.
var errNotAStore = errors.New("not a Switchyard store (it has no schema_migrations table; point at the store a gateway writes, this command does not create one)")

// sqliteSchema returns the migration versions recorded in the SQLite
// database at path, reading through a query-only connection.
func sqliteSchema(ctx context.Context, path string) (map[int]bool, error) {
	db, err := sql.Open("sqlite", "file:"+(&neturl.URL{Path: path}).EscapedPath()+"?_pragma=query_only(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errNotAStore
	}
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

// postgresSchema returns the migration versions recorded in the PostgreSQL
// database at rawURL (in its search_path), read in a read-only
// transaction.
func postgresSchema(ctx context.Context, rawURL string) (map[int]bool, error) {
	cfg, _, err := postgres.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open: postgres: %w", err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	applied := map[int]bool{}
	err = pgx.BeginTxFunc(ctx, c, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return errNotAStore
		}
		rows, err := tx.Query(ctx, `SELECT DISTINCT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
		for _, v := range vs {
			applied[v] = true
		}
		return err
	})
	if errors.Is(err, errNotAStore) {
		return nil, fmt.Errorf("open: postgres database %s: %w", cfg.Database, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open: postgres: %w", err)
	}
	return applied, nil
}
