package open_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/open"
	"github.com/switchyard-gw/switchyard/internal/store/postgres"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
	"github.com/switchyard-gw/switchyard/internal/store/storetest"
)

func TestStore(t *testing.T) {
	tests := []struct {
		name    string
		url     func(t *testing.T) string
		check   func(store.Store) bool
		wantErr string
	}{
		{name: "sqlite file", url: func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "x.db") },
			check: func(s store.Store) bool { _, ok := s.(*sqlite.Store); return ok }},
		{name: "sqlite memory", url: func(*testing.T) string { return "sqlite://:memory:" },
			check: func(s store.Store) bool { _, ok := s.(*sqlite.Store); return ok }},
		{name: "postgres", url: func(t *testing.T) string { return storetest.PostgresURL(t) },
			check: func(s store.Store) bool { _, ok := s.(*postgres.Store); return ok }},
		{name: "empty sqlite path", url: func(*testing.T) string { return "sqlite://" }, wantErr: "has no path"},
		{name: "unknown scheme hides the rest", url: func(*testing.T) string { return "mysql://u:hunter2@h/db" }, wantErr: `"mysql"`},
		{name: "no scheme", url: func(*testing.T) string { return "/var/db" }, wantErr: "(none)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := open.Store(t.Context(), tc.url(t))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("got error %v, want one containing %s and no password", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			defer s.Close()
			if !tc.check(s) {
				t.Errorf("got %T, want the other implementation", s)
			}
			if err := s.Ping(t.Context()); err != nil {
				t.Errorf("ping: got %v, want nil", err)
			}
		})
	}
}

func TestExistingRefusesAMissingSQLiteFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "typo.db")
	_, err := open.Existing(context.Background(), "sqlite://"+missing)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("got %v, want an error naming %s", err, missing)
	}
	if _, serr := os.Stat(missing); !os.IsNotExist(serr) {
		t.Errorf("got %v, want the file not created", serr)
	}
	made := filepath.Join(dir, "made.db")
	st, err := open.Store(context.Background(), "sqlite://"+made)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = open.Existing(context.Background(), "sqlite://"+made)
	if err != nil {
		t.Fatalf("got %v opening an existing database", err)
	}
	st.Close()
}
