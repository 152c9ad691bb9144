-- The replica running a batch holds a lease on it, renewed while it runs:
-- another replica takes the batch over only once the lease has lapsed.
ALTER TABLE batches
	ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '',
	ADD COLUMN lease_until TIMESTAMPTZ NOT NULL DEFAULT 'epoch';
