-- Tenant-wide limits, budgets and default tier get columns of their own.
-- Before this, a tenant's limits lived in a hidden, revoked api_keys row
-- with id 'tlim_' || tenant id and role 'tenant_limits'; they move here
-- and the hidden rows are deleted.
ALTER TABLE tenants ADD COLUMN rpm INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN tpm INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN max_concurrent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN budget_daily_usd REAL NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN budget_monthly_usd REAL NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN tier TEXT NOT NULL DEFAULT '';

UPDATE tenants SET
	rpm                = (SELECT k.rpm FROM api_keys k WHERE k.id = 'tlim_' || tenants.id AND k.role = 'tenant_limits'),
	tpm                = (SELECT k.tpm FROM api_keys k WHERE k.id = 'tlim_' || tenants.id AND k.role = 'tenant_limits'),
	max_concurrent     = (SELECT k.max_concurrent FROM api_keys k WHERE k.id = 'tlim_' || tenants.id AND k.role = 'tenant_limits'),
	budget_daily_usd   = (SELECT k.budget_daily_usd FROM api_keys k WHERE k.id = 'tlim_' || tenants.id AND k.role = 'tenant_limits'),
	budget_monthly_usd = (SELECT k.budget_monthly_usd FROM api_keys k WHERE k.id = 'tlim_' || tenants.id AND k.role = 'tenant_limits')
WHERE EXISTS (SELECT 1 FROM api_keys k WHERE k.id = 'tlim_' || tenants.id AND k.role = 'tenant_limits');

DELETE FROM api_keys WHERE role = 'tenant_limits';
