package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

const keyColumns = `id, tenant_id, name, hash, prefix, role, allowed_routes, rpm, tpm, max_concurrent,
	budget_daily_usd, budget_monthly_usd, expires_us, revoked_us, tier, metadata, created_us`

func encodeKeyJSON(k store.Key) (routes, meta string, err error) {
	r := k.AllowedRoutes
	if r == nil {
		r = []string{}
	}
	m := k.Metadata
	if m == nil {
		m = map[string]string{}
	}
	rb, err := json.Marshal(r)
	if err != nil {
		return "", "", err
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return "", "", err
	}
	return string(rb), string(mb), nil
}

// CreateKey inserts k.
func (s *Store) CreateKey(ctx context.Context, k store.Key) error {
	routes, meta, err := encodeKeyJSON(k)
	if err != nil {
		return fmt.Errorf("sqlite: create key: %w", err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO api_keys(`+keyColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.TenantID, k.Name, k.Hash[:], k.Prefix, k.Role, routes, k.RPM, k.TPM, k.MaxConcurrent,
		k.BudgetDailyUSD, k.BudgetMonthlyUSD, nullMicros(k.ExpiresAt), nullMicros(k.RevokedAt),
		k.Tier, meta, micros(k.Created))
	if err != nil {
		return mapErr("create key", err)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanKey(sc scanner) (store.Key, error) {
	var (
		k              store.Key
		hash           []byte
		routes, meta   string
		expires, revok sql.NullInt64
		created        int64
	)
	err := sc.Scan(&k.ID, &k.TenantID, &k.Name, &hash, &k.Prefix, &k.Role, &routes, &k.RPM, &k.TPM,
		&k.MaxConcurrent, &k.BudgetDailyUSD, &k.BudgetMonthlyUSD, &expires, &revok, &k.Tier, &meta, &created)
	if err != nil {
		return store.Key{}, err
	}
	if len(hash) != len(k.Hash) {
		return store.Key{}, fmt.Errorf("key %s: hash has %d bytes", k.ID, len(hash))
	}
	copy(k.Hash[:], hash)
	if err := json.Unmarshal([]byte(routes), &k.AllowedRoutes); err != nil {
		return store.Key{}, fmt.Errorf("key %s: allowed routes: %w", k.ID, err)
	}
	if err := json.Unmarshal([]byte(meta), &k.Metadata); err != nil {
		return store.Key{}, fmt.Errorf("key %s: metadata: %w", k.ID, err)
	}
	if len(k.AllowedRoutes) == 0 {
		k.AllowedRoutes = nil
	}
	if len(k.Metadata) == 0 {
		k.Metadata = nil
	}
	k.ExpiresAt = fromNullMicros(expires)
	k.RevokedAt = fromNullMicros(revok)
	k.Created = fromMicros(created)
	return k, nil
}

// GetKeyByHash returns the key whose secret hashes to hash.
func (s *Store) GetKeyByHash(ctx context.Context, hash [32]byte) (store.Key, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = ?`, hash[:]))
	if err != nil {
		return store.Key{}, mapErr("get key by hash", err)
	}
	return k, nil
}

// GetKey returns the key with id.
func (s *Store) GetKey(ctx context.Context, id string) (store.Key, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = ?`, id))
	if err != nil {
		return store.Key{}, mapErr("get key", err)
	}
	return k, nil
}

// ListKeys lists tenantID's keys, or every key when tenantID is empty.
func (s *Store) ListKeys(ctx context.Context, tenantID string) ([]store.Key, error) {
	q := `SELECT ` + keyColumns + ` FROM api_keys WHERE (? = '' OR tenant_id = ?) ORDER BY created_us, id`
	rows, err := s.r.QueryContext(ctx, q, tenantID, tenantID)
	if err != nil {
		return nil, mapErr("list keys", err)
	}
	defer rows.Close()
	var out []store.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, mapErr("list keys", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr("list keys", err)
	}
	return out, nil
}

// UpdateKey replaces k's mutable fields.
func (s *Store) UpdateKey(ctx context.Context, k store.Key) error {
	routes, meta, err := encodeKeyJSON(k)
	if err != nil {
		return fmt.Errorf("sqlite: update key: %w", err)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE api_keys SET name = ?, role = ?, allowed_routes = ?, rpm = ?,
		tpm = ?, max_concurrent = ?, budget_daily_usd = ?, budget_monthly_usd = ?, expires_us = ?,
		tier = ?, metadata = ? WHERE id = ?`,
		k.Name, k.Role, routes, k.RPM, k.TPM, k.MaxConcurrent, k.BudgetDailyUSD, k.BudgetMonthlyUSD,
		nullMicros(k.ExpiresAt), k.Tier, meta, k.ID)
	return checkAffected("update key", res, err)
}

// RevokeKey marks the key revoked at at, keeping an earlier revocation.
func (s *Store) RevokeKey(ctx context.Context, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE api_keys SET revoked_us = coalesce(revoked_us, ?) WHERE id = ?`,
		micros(at), id)
	return checkAffected("revoke key", res, err)
}
