-- Times are Unix microseconds (UTC); durations are nanoseconds.
CREATE TABLE tenants (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	created_us INTEGER NOT NULL,
	disabled   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
	id                 TEXT PRIMARY KEY,
	tenant_id          TEXT NOT NULL REFERENCES tenants(id),
	name               TEXT NOT NULL,
	hash               BLOB NOT NULL UNIQUE,
	prefix             TEXT NOT NULL,
	role               TEXT NOT NULL,
	allowed_routes     TEXT NOT NULL, -- JSON array
	rpm                INTEGER NOT NULL,
	tpm                INTEGER NOT NULL,
	max_concurrent     INTEGER NOT NULL,
	budget_daily_usd   REAL NOT NULL,
	budget_monthly_usd REAL NOT NULL,
	expires_us         INTEGER,
	revoked_us         INTEGER,
	tier               TEXT NOT NULL,
	metadata           TEXT NOT NULL, -- JSON object
	created_us         INTEGER NOT NULL
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id, created_us);

CREATE TABLE usage_records (
	request_id       TEXT PRIMARY KEY,
	ts_us            INTEGER NOT NULL,
	tenant_id        TEXT NOT NULL,
	key_id           TEXT NOT NULL,
	route            TEXT NOT NULL,
	policy           TEXT NOT NULL,
	reason           TEXT NOT NULL,
	deployment       TEXT NOT NULL,
	model            TEXT NOT NULL,
	attempts         INTEGER NOT NULL,
	status           INTEGER NOT NULL,
	error_code       TEXT NOT NULL,
	input_tokens     INTEGER NOT NULL,
	output_tokens    INTEGER NOT NULL,
	tokens_estimated INTEGER NOT NULL,
	cost_usd         REAL NOT NULL,
	latency_ns       INTEGER NOT NULL,
	ttft_ns          INTEGER NOT NULL,
	cache_hit        INTEGER NOT NULL,
	stream           INTEGER NOT NULL,
	partial          INTEGER NOT NULL
);
CREATE INDEX usage_records_ts ON usage_records(ts_us);
CREATE INDEX usage_records_tenant_ts ON usage_records(tenant_id, ts_us);
CREATE INDEX usage_records_key_ts ON usage_records(key_id, ts_us);
