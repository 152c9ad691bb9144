-- What trains a learned router on the gateway's own traffic: the routing
-- text of requests on routes that capture it, and clients' feedback.
CREATE TABLE captured_prompts (
	request_id TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	route      TEXT NOT NULL,
	text       TEXT NOT NULL,
	created    TIMESTAMPTZ NOT NULL
);
CREATE INDEX captured_prompts_created ON captured_prompts(created);
CREATE TABLE feedback (
	request_id TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	quality    DOUBLE PRECISION NOT NULL,
	created    TIMESTAMPTZ NOT NULL
);
CREATE INDEX feedback_created ON feedback(created);
