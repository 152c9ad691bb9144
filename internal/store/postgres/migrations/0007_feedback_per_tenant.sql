-- A rating is kept per request and tenant: one tenant rating another's
-- request id before its usage record is written no longer takes the row
-- its owner rates (every join matches the tenant, so a stray row is inert).
ALTER TABLE feedback DROP CONSTRAINT feedback_pkey;
ALTER TABLE feedback ADD PRIMARY KEY (request_id, tenant_id);
