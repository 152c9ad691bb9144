// Package open picks a store.Store implementation from a URL. It lives apart
// from package store because the implementations import store; main calls
// open.Store with the URL from the config.
package open

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

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

// Existing is Store for commands that only read what a gateway recorded: a
// SQLite file that does not exist is an error naming it, where Store would
// create an empty database (a mistyped path read as "no data").
func Existing(ctx context.Context, url string) (store.Store, error) {
	if path, ok := strings.CutPrefix(url, "sqlite://"); ok && path != "" && path != ":memory:" {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open: sqlite database %s: %w", path, errors.Unwrap(err))
		}
	}
	return Store(ctx, url)
}
