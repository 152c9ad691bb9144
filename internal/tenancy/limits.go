package tenancy

import (
	"github.com/switchyard-gw/switchyard/internal/store"
)

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

// TenantLimits returns t's tenant-wide limits.
func TenantLimits(t store.Tenant) Limits {
	return Limits{RPM: t.RPM, TPM: t.TPM, MaxConcurrent: t.MaxConcurrent, BudgetDailyUSD: t.BudgetDailyUSD, BudgetMonthlyUSD: t.BudgetMonthlyUSD}
}

// ApplyTenant copies l into t.
func (l Limits) ApplyTenant(t *store.Tenant) {
	t.RPM, t.TPM, t.MaxConcurrent = l.RPM, l.TPM, l.MaxConcurrent
	t.BudgetDailyUSD, t.BudgetMonthlyUSD = l.BudgetDailyUSD, l.BudgetMonthlyUSD
}
