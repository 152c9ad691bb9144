package tenancy

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// RoleTenantLimits is the role of the hidden key row that carries a
// tenant's limits. Such a row never authenticates anyone.
const RoleTenantLimits = "tenant_limits"

// Limits are the rate limits and budgets of a key or a tenant; a zero field
// is unlimited.
type Limits struct {
	RPM              int     `json:"rpm"`
	TPM              int     `json:"tpm"`
	MaxConcurrent    int     `json:"max_concurrent"`
	BudgetDailyUSD   float64 `json:"budget_daily_usd"`
	BudgetMonthlyUSD float64 `json:"budget_monthly_usd"`
}

// KeyLimits returns k's limits.
func KeyLimits(k store.Key) Limits {
	return Limits{RPM: k.RPM, TPM: k.TPM, MaxConcurrent: k.MaxConcurrent, BudgetDailyUSD: k.BudgetDailyUSD, BudgetMonthlyUSD: k.BudgetMonthlyUSD}
}

// Apply copies l into k.
func (l Limits) Apply(k *store.Key) {
	k.RPM, k.TPM, k.MaxConcurrent = l.RPM, l.TPM, l.MaxConcurrent
	k.BudgetDailyUSD, k.BudgetMonthlyUSD = l.BudgetDailyUSD, l.BudgetMonthlyUSD
}

// TenantLimitsID is the ID of the hidden key row holding tenantID's limits.
func TenantLimitsID(tenantID string) string { return "tlim_" + tenantID }

// IsTenantLimits reports whether k is a tenant's hidden limits row rather
// than a usable key.
func IsTenantLimits(k store.Key) bool { return k.Role == RoleTenantLimits }

// LoadTenantLimits returns tenantID's limits; a tenant without a limits row
// is unlimited.
func LoadTenantLimits(ctx context.Context, st store.Store, tenantID string) (Limits, error) {
	k, err := st.GetKey(ctx, TenantLimitsID(tenantID))
	if errors.Is(err, store.ErrNotFound) {
		return Limits{}, nil
	}
	if err != nil {
		return Limits{}, fmt.Errorf("tenancy: load tenant limits: %w", err)
	}
	return KeyLimits(k), nil
}

// SaveTenantLimits stores tenantID's limits, creating the hidden row on
// first use. The row's hash is random and the row is revoked at once, so
// it can never authenticate.
func SaveTenantLimits(ctx context.Context, st store.Store, tenantID string, l Limits, now time.Time) error {
	id := TenantLimitsID(tenantID)
	k, err := st.GetKey(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		k = store.Key{ID: id, TenantID: tenantID, Name: "tenant limits", Role: RoleTenantLimits, Created: now}
		if _, err := rand.Read(k.Hash[:]); err != nil {
			return fmt.Errorf("tenancy: tenant limits hash: %w", err)
		}
		l.Apply(&k)
		if err := st.CreateKey(ctx, k); err != nil {
			return fmt.Errorf("tenancy: create tenant limits: %w", err)
		}
		if err := st.RevokeKey(ctx, id, now); err != nil {
			return fmt.Errorf("tenancy: seal tenant limits: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("tenancy: load tenant limits: %w", err)
	}
	l.Apply(&k)
	if err := st.UpdateKey(ctx, k); err != nil {
		return fmt.Errorf("tenancy: save tenant limits: %w", err)
	}
	return nil
}
