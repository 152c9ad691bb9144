-- The replica running a batch holds a lease on it, renewed while it runs:
-- another replica takes the batch over only once the lease has lapsed.
ALTER TABLE batches ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE batches ADD COLUMN lease_until_us INTEGER NOT NULL DEFAULT 0;
