// Package postgres is the store.Store for many replicas: PostgreSQL through
// pgx/v5. Migrations are embedded and applied on Open under an advisory
// lock, so replicas starting together apply each one exactly once.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchyard-gw/switchyard/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DefaultMaxConns is the pool size when the URL has no pool_max_conns.
const DefaultMaxConns = 8

// DefaultConnectTimeout bounds connecting to the server (dial and
// start-up) when neither the URL's connect_timeout nor PGCONNECT_TIMEOUT
// sets it: a server that accepts connections but never answers fails the
// connect instead of holding it for as long as the caller waits.
const DefaultConnectTimeout = 10 * time.Second

// maxConnectTimeoutSeconds is the largest connect_timeout a time.Duration
// holds (about 292 years).
const maxConnectTimeoutSeconds = int64(math.MaxInt64 / time.Second)

// DefaultCallTimeout is the URL's call_timeout when it has none: how long
// a store call whose caller set no deadline of its own (an admin API or
// dashboard request, a batch worker) waits for the server (see
// connPool.with).
const DefaultCallTimeout = 15 * time.Second

// Store is a store.Store backed by PostgreSQL. Safe for concurrent use.
type Store struct {
	pool *connPool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at rawURL (postgres://user@host:port/db?...)
// and applies pending migrations. The URL may carry pool_max_conns,
// call_timeout, and search_path to place the tables in a schema of their
// own.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	o, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	s := &Store{pool: newConnPool(o.cfg, o.maxConns, o.callTimeout)}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// ParseURL reads rawURL as Open does, without connecting: the connection
// config and the pool size (pool_max_conns, else DefaultMaxConns).
// switchyard check calls it to refuse what Open would.
func ParseURL(rawURL string) (*pgx.ConnConfig, int, error) {
	o, err := parseURL(rawURL)
	if err != nil {
		return nil, 0, err
	}
	return o.cfg, o.maxConns, nil
}

// options are what Open reads from its URL.
type options struct {
	cfg         *pgx.ConnConfig
	maxConns    int
	callTimeout time.Duration
}

func parseURL(rawURL string) (options, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return options{}, fmt.Errorf("postgres: parse url: %w", err)
	}
	o := options{maxConns: DefaultMaxConns, callTimeout: DefaultCallTimeout}
	q := u.Query()
	if v := q.Get("pool_max_conns"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return options{}, fmt.Errorf("postgres: pool_max_conns %q is not a positive integer", v)
		}
		o.maxConns = n
	}
	if q.Has("call_timeout") {
		v := q.Get("call_timeout")
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return options{}, fmt.Errorf("postgres: call_timeout %q is not a duration such as 30s (0 for none)", v)
		}
		o.callTimeout = d
	}
	if q.Has("pool_max_conns") || q.Has("call_timeout") {
		// Ours, not server settings: pgx would send them to the server.
		q.Del("pool_max_conns")
		q.Del("call_timeout")
		// Spaces as %20, not Encode's +, which pgx reads as itself (a
		// search_path "a, b" would become "a,+b").
		u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	}
	// pgx multiplies connect_timeout's seconds by time.Second unchecked: a
	// value too large for a time.Duration would wrap (to a negative or a
	// tiny timeout) and fail every connect.
	name, v := "connect_timeout", q.Get("connect_timeout")
	if !q.Has("connect_timeout") {
		name, v = "PGCONNECT_TIMEOUT", os.Getenv("PGCONNECT_TIMEOUT")
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > maxConnectTimeoutSeconds {
		return options{}, fmt.Errorf("postgres: %s %q is too large: at most %d seconds", name, v, maxConnectTimeoutSeconds)
	}
	o.cfg, err = pgx.ParseConfig(u.String())
	if err != nil {
		return options{}, fmt.Errorf("postgres: parse url: %w", err)
	}
	if !q.Has("connect_timeout") && os.Getenv("PGCONNECT_TIMEOUT") == "" {
		o.cfg.ConnectTimeout = DefaultConnectTimeout
	}
	return o, nil
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	err = s.pool.with(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('switchyard.schema_migrations'))`); err != nil {
				return err
			}
			if err := createSchema(ctx, tx, s.pool.cfg.RuntimeParams); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
				return unusableSchema(err, s.pool.cfg.RuntimeParams)
			}
			for _, m := range ms {
				var applied bool
				if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&applied); err != nil {
					return err
				}
				if applied {
					continue
				}
				if _, err := tx.Exec(ctx, m.SQL); err != nil {
					return fmt.Errorf("migration %s: %w", m.Name, err)
				}
				if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations(version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
					return fmt.Errorf("migration %s: %w", m.Name, err)
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// Ping checks that a connection can reach the server.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.with(ctx, func(ctx context.Context, c *pgx.Conn) error { return c.Ping(ctx) }); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes idle connections; connections in use close when released.
func (s *Store) Close() error {
	s.pool.close()
	return nil
}

// mapErr turns constraint violations and missing rows into store errors.
func mapErr(op string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("postgres: %s: %w", op, store.ErrConflict)
		case "23503": // foreign_key_violation
			return fmt.Errorf("postgres: %s: tenant: %w", op, store.ErrNotFound)
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}
