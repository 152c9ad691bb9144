package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// us truncates t to the microsecond PostgreSQL keeps (it would round).
func us(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

func usPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := us(*t)
	return &v
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

func (s *Store) exec(ctx context.Context, op, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := s.pool.with(ctx, func(ctx context.Context, c *pgx.Conn) error {
		var err error
		tag, err = c.Exec(ctx, sql, args...)
		return err
	})
	if err != nil {
		return tag, mapErr(op, err)
	}
	return tag, nil
}

func (s *Store) execOne(ctx context.Context, op, sql string, args ...any) error {
	tag, err := s.exec(ctx, op, sql, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return mapErr(op, pgx.ErrNoRows)
	}
	return nil
}

const tenantColumns = `id, name, created, disabled, rpm, tpm, max_concurrent, budget_daily_usd,
	budget_monthly_usd, tier`

// CreateTenant inserts t.
func (s *Store) CreateTenant(ctx context.Context, t store.Tenant) error {
	_, err := s.exec(ctx, "create tenant", `INSERT INTO tenants(`+tenantColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		t.ID, t.Name, us(t.Created), t.Disabled, t.RPM, t.TPM, t.MaxConcurrent, t.BudgetDailyUSD, t.BudgetMonthlyUSD, t.Tier)
	return err
}

func scanTenant(row pgx.CollectableRow) (store.Tenant, error) {
	var t store.Tenant
	err := row.Scan(&t.ID, &t.Name, &t.Created, &t.Disabled, &t.RPM, &t.TPM, &t.MaxConcurrent,
		&t.BudgetDailyUSD, &t.BudgetMonthlyUSD, &t.Tier)
	t.Created = t.Created.UTC()
	return t, err
}

// GetTenant returns the tenant with id.
func (s *Store) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	var t store.Tenant
	err := s.pool.with(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, _ := c.Query(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id)
		var err error
		t, err = pgx.CollectExactlyOneRow(rows, scanTenant)
		return err
	})
	if err != nil {
		return store.Tenant{}, mapErr("get tenant", err)
	}
	return t, nil
}

// ListTenants returns all tenants ordered by creation then ID.
func (s *Store) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	var ts []store.Tenant
	err := s.pool.with(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, _ := c.Query(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY created, id`)
		var err error
		ts, err = pgx.CollectRows(rows, scanTenant)
		return err
	})
	if err != nil {
		return nil, mapErr("list tenants", err)
	}
	if len(ts) == 0 {
		return nil, nil
	}
	return ts, nil
}

// UpdateTenant replaces the tenant's mutable fields.
func (s *Store) UpdateTenant(ctx context.Context, t store.Tenant) error {
	return s.execOne(ctx, "update tenant", `UPDATE tenants SET name = $1, disabled = $2, rpm = $3, tpm = $4,
		max_concurrent = $5, budget_daily_usd = $6, budget_monthly_usd = $7, tier = $8 WHERE id = $9`,
		t.Name, t.Disabled, t.RPM, t.TPM, t.MaxConcurrent, t.BudgetDailyUSD, t.BudgetMonthlyUSD, t.Tier, t.ID)
}

const keyColumns = `id, tenant_id, name, hash, prefix, role, allowed_routes, rpm, tpm, max_concurrent,
	budget_daily_usd, budget_monthly_usd, expires_at, revoked_at, tier, metadata, created`

func nonNil(k store.Key) ([]string, map[string]string) {
	r, m := k.AllowedRoutes, k.Metadata
	if r == nil {
		r = []string{}
	}
	if m == nil {
		m = map[string]string{}
	}
	return r, m
}

// CreateKey inserts k.
func (s *Store) CreateKey(ctx context.Context, k store.Key) error {
	routes, meta := nonNil(k)
	_, err := s.exec(ctx, "create key", `INSERT INTO api_keys(`+keyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		k.ID, k.TenantID, k.Name, k.Hash[:], k.Prefix, k.Role, routes, k.RPM, k.TPM, k.MaxConcurrent,
		k.BudgetDailyUSD, k.BudgetMonthlyUSD, usPtr(k.ExpiresAt), usPtr(k.RevokedAt), k.Tier, meta, us(k.Created))
	return err
}

func scanKey(row pgx.CollectableRow) (store.Key, error) {
	var (
		k    store.Key
		hash []byte
	)
	err := row.Scan(&k.ID, &k.TenantID, &k.Name, &hash, &k.Prefix, &k.Role, &k.AllowedRoutes, &k.RPM, &k.TPM,
		&k.MaxConcurrent, &k.BudgetDailyUSD, &k.BudgetMonthlyUSD, &k.ExpiresAt, &k.RevokedAt, &k.Tier,
		&k.Metadata, &k.Created)
	if err != nil {
		return store.Key{}, err
	}
	copy(k.Hash[:], hash)
	if len(k.AllowedRoutes) == 0 {
		k.AllowedRoutes = nil
	}
	if len(k.Metadata) == 0 {
		k.Metadata = nil
	}
	k.ExpiresAt, k.RevokedAt, k.Created = utcPtr(k.ExpiresAt), utcPtr(k.RevokedAt), k.Created.UTC()
	return k, nil
}

func (s *Store) getKey(ctx context.Context, op, where string, arg any) (store.Key, error) {
	var k store.Key
	err := s.pool.with(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, _ := c.Query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE `+where, arg)
		var err error
		k, err = pgx.CollectExactlyOneRow(rows, scanKey)
		return err
	})
	if err != nil {
		return store.Key{}, mapErr(op, err)
	}
	return k, nil
}

// GetKeyByHash returns the key whose secret hashes to hash.
func (s *Store) GetKeyByHash(ctx context.Context, hash [32]byte) (store.Key, error) {
	return s.getKey(ctx, "get key by hash", "hash = $1", hash[:])
}

// GetKey returns the key with id.
func (s *Store) GetKey(ctx context.Context, id string) (store.Key, error) {
	return s.getKey(ctx, "get key", "id = $1", id)
}

// ListKeys lists tenantID's keys, or every key when tenantID is empty.
func (s *Store) ListKeys(ctx context.Context, tenantID string) ([]store.Key, error) {
	var ks []store.Key
	err := s.pool.with(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, _ := c.Query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE ($1 = '' OR tenant_id = $1) ORDER BY created, id`, tenantID)
		var err error
		ks, err = pgx.CollectRows(rows, scanKey)
		return err
	})
	if err != nil {
		return nil, mapErr("list keys", err)
	}
	if len(ks) == 0 {
		return nil, nil
	}
	return ks, nil
}

// UpdateKey replaces k's mutable fields.
func (s *Store) UpdateKey(ctx context.Context, k store.Key) error {
	routes, meta := nonNil(k)
	return s.execOne(ctx, "update key", `UPDATE api_keys SET name = $1, role = $2, allowed_routes = $3, rpm = $4,
		tpm = $5, max_concurrent = $6, budget_daily_usd = $7, budget_monthly_usd = $8, expires_at = $9,
		tier = $10, metadata = $11 WHERE id = $12`,
		k.Name, k.Role, routes, k.RPM, k.TPM, k.MaxConcurrent, k.BudgetDailyUSD, k.BudgetMonthlyUSD,
		usPtr(k.ExpiresAt), k.Tier, meta, k.ID)
}

// RevokeKey marks the key revoked at at, keeping an earlier revocation.
func (s *Store) RevokeKey(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, "revoke key", `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`, us(at), id)
}
