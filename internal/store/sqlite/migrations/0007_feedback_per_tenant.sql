-- A rating is kept per request and tenant: one tenant rating another's
-- request id before its usage record is written no longer takes the row
-- its owner rates (every join matches the tenant, so a stray row is inert).
CREATE TABLE feedback_new (
	request_id TEXT NOT NULL,
	tenant_id  TEXT NOT NULL,
	quality    REAL NOT NULL,
	created_us INTEGER NOT NULL,
	PRIMARY KEY (request_id, tenant_id)
);
INSERT INTO feedback_new (request_id, tenant_id, quality, created_us)
	SELECT request_id, tenant_id, quality, created_us FROM feedback;
DROP TABLE feedback;
ALTER TABLE feedback_new RENAME TO feedback;
CREATE INDEX feedback_created ON feedback(created_us);
