-- What trains a learned router on the gateway's own traffic: the routing
-- text of requests on routes that capture it, and clients' feedback.
CREATE TABLE captured_prompts (
	request_id TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	route      TEXT NOT NULL,
	text       TEXT NOT NULL,
	created_us INTEGER NOT NULL
);
CREATE INDEX captured_prompts_created ON captured_prompts(created_us);
CREATE TABLE feedback (
	request_id TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	quality    REAL NOT NULL,
	created_us INTEGER NOT NULL
);
CREATE INDEX feedback_created ON feedback(created_us);
