package postgres_test

import (
	"testing"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/postgres"
	"github.com/switchyard-gw/switchyard/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(t.Context(), storetest.PostgresURL(t))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	})
}

func TestReopenSkipsAppliedMigrations(t *testing.T) {
	url := storetest.PostgresURL(t)
	for i := range 2 {
		s, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatalf("open #%d: got %v, want nil (migrations must be idempotent)", i+1, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
	}
}

func TestOpenRejectsBadPoolSize(t *testing.T) {
	if _, err := postgres.Open(t.Context(), "postgres://127.0.0.1:1/x?pool_max_conns=zero"); err == nil {
		t.Errorf("open with pool_max_conns=zero: got nil error, want one")
	}
}
