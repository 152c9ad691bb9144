// Package sqlite is the single-machine store.Store: one SQLite file in WAL
// mode through the pure-Go modernc.org/sqlite driver. All writes go through
// one connection (SQLite allows one writer); reads use a small pool of their
// own so a long export never blocks the request path's key lookups.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"time"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/switchyard-gw/switchyard/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is a store.Store backed by a SQLite file. Safe for concurrent use.
type Store struct {
	w *sql.DB // exactly one connection: the writer
	r *sql.DB // readers; the same as w for an in-memory database

	ins [len(usageChunks)]*sql.Stmt // prepared usage INSERTs, see prepareInserts
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the SQLite database at path and applies
// pending migrations. path ":memory:" gives a private in-memory database
// served by a single connection.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: empty path")
	}
	const pragmas = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	// The writer keeps its temporary files in memory: a multi-row usage
	// INSERT has a statement journal (the pages it changed, to undo the
	// statement alone), which SQLite otherwise spills to a temporary file
	// past 64 kB, a pwrite per page, about two syscalls a usage record
	// (BenchmarkInsertUsage). The journal is bounded by what one statement
	// changes; the readers' sorts for reports stay on disk.
	const writer = "&_txlock=immediate&_pragma=temp_store(MEMORY)"
	s := &Store{}
	if path == ":memory:" {
		db, err := sql.Open("sqlite", "file::memory:?"+pragmas+writer)
		if err != nil {
			return nil, fmt.Errorf("sqlite: open: %w", err)
		}
		db.SetMaxOpenConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		s.w, s.r = db, db
	} else {
		base := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas + "&_pragma=journal_mode(WAL)"
		w, err := sql.Open("sqlite", base+writer)
		if err != nil {
			return nil, fmt.Errorf("sqlite: open: %w", err)
		}
		w.SetMaxOpenConns(1)
		w.SetConnMaxIdleTime(0)
		r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("sqlite: open: %w", err)
		}
		r.SetMaxOpenConns(4)
		s.w, s.r = w, r
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepareInserts(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: serialises concurrent openers
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for _, m := range ms {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		if n > 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_us) VALUES (?, ?, ?)`,
			m.Version, m.Name, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// Ping checks both connection pools.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	for _, st := range s.ins {
		if st != nil {
			st.Close()
		}
	}
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	if err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// mapErr turns constraint violations into store errors.
func mapErr(op string, err error) error {
	var se *sqlitedrv.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("sqlite: %s: %w", op, store.ErrConflict)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("sqlite: %s: tenant: %w", op, store.ErrNotFound)
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrNotFound)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromNullMicros(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

const tenantColumns = `id, name, created_us, disabled, rpm, tpm, max_concurrent, budget_daily_usd,
	budget_monthly_usd, tier`

// CreateTenant inserts t.
func (s *Store) CreateTenant(ctx context.Context, t store.Tenant) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO tenants(`+tenantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, micros(t.Created), b2i(t.Disabled), t.RPM, t.TPM, t.MaxConcurrent,
		t.BudgetDailyUSD, t.BudgetMonthlyUSD, t.Tier)
	if err != nil {
		return mapErr("create tenant", err)
	}
	return nil
}

func scanTenant(sc scanner) (store.Tenant, error) {
	var t store.Tenant
	var created int64
	err := sc.Scan(&t.ID, &t.Name, &created, &t.Disabled, &t.RPM, &t.TPM, &t.MaxConcurrent,
		&t.BudgetDailyUSD, &t.BudgetMonthlyUSD, &t.Tier)
	t.Created = fromMicros(created)
	return t, err
}

// GetTenant returns the tenant with id.
func (s *Store) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	t, err := scanTenant(s.r.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = ?`, id))
	if err != nil {
		return store.Tenant{}, mapErr("get tenant", err)
	}
	return t, nil
}

// ListTenants returns all tenants ordered by creation then ID.
func (s *Store) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY created_us, id`)
	if err != nil {
		return nil, mapErr("list tenants", err)
	}
	defer rows.Close()
	var out []store.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, mapErr("list tenants", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr("list tenants", err)
	}
	return out, nil
}

// UpdateTenant replaces the tenant's mutable fields.
func (s *Store) UpdateTenant(ctx context.Context, t store.Tenant) error {
	res, err := s.w.ExecContext(ctx, `UPDATE tenants SET name = ?, disabled = ?, rpm = ?, tpm = ?,
		max_concurrent = ?, budget_daily_usd = ?, budget_monthly_usd = ?, tier = ? WHERE id = ?`,
		t.Name, b2i(t.Disabled), t.RPM, t.TPM, t.MaxConcurrent, t.BudgetDailyUSD, t.BudgetMonthlyUSD, t.Tier, t.ID)
	return checkAffected("update tenant", res, err)
}

func checkAffected(op string, res sql.Result, err error) error {
	if err != nil {
		return mapErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return mapErr(op, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrNotFound)
	}
	return nil
}
