package postgres

import (
	"fmt"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// Migrations returns the schema migrations Open applies, ordered by
// version: the embedded files of migrations/. A
// database is current when its schema_migrations table records every one.
func Migrations() ([]store.Migration, error) {
	ms, err := store.ReadMigrations(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
}
