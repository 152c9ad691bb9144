-- Tenant-wide limits, budgets and default tier get columns of their own.
-- Before this, a tenant's limits lived in a hidden, revoked api_keys row
-- with id 'tlim_' || tenant id and role 'tenant_limits'; they move here
-- and the hidden rows are deleted.
ALTER TABLE tenants
	ADD COLUMN rpm                INTEGER NOT NULL DEFAULT 0,
	ADD COLUMN tpm                INTEGER NOT NULL DEFAULT 0,
	ADD COLUMN max_concurrent     INTEGER NOT NULL DEFAULT 0,
	ADD COLUMN budget_daily_usd   DOUBLE PRECISION NOT NULL DEFAULT 0,
	ADD COLUMN budget_monthly_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
	ADD COLUMN tier               TEXT NOT NULL DEFAULT '';

UPDATE tenants t SET
	rpm = k.rpm, tpm = k.tpm, max_concurrent = k.max_concurrent,
	budget_daily_usd = k.budget_daily_usd, budget_monthly_usd = k.budget_monthly_usd
FROM api_keys k
WHERE k.id = 'tlim_' || t.id AND k.role = 'tenant_limits';

DELETE FROM api_keys WHERE role = 'tenant_limits';
