CREATE TABLE tenants (
	id       TEXT PRIMARY KEY,
	name     TEXT NOT NULL,
	created  TIMESTAMPTZ NOT NULL,
	disabled BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE api_keys (
	id                 TEXT PRIMARY KEY,
	tenant_id          TEXT NOT NULL REFERENCES tenants(id),
	name               TEXT NOT NULL,
	hash               BYTEA NOT NULL UNIQUE,
	prefix             TEXT NOT NULL,
	role               TEXT NOT NULL,
	allowed_routes     TEXT[] NOT NULL,
	rpm                INTEGER NOT NULL,
	tpm                INTEGER NOT NULL,
	max_concurrent     INTEGER NOT NULL,
	budget_daily_usd   DOUBLE PRECISION NOT NULL,
	budget_monthly_usd DOUBLE PRECISION NOT NULL,
	expires_at         TIMESTAMPTZ,
	revoked_at         TIMESTAMPTZ,
	tier               TEXT NOT NULL,
	metadata           JSONB NOT NULL,
	created            TIMESTAMPTZ NOT NULL
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id, created);

-- Durations are nanoseconds.
CREATE TABLE usage_records (
	request_id       TEXT PRIMARY KEY,
	ts               TIMESTAMPTZ NOT NULL,
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
	input_tokens     BIGINT NOT NULL,
	output_tokens    BIGINT NOT NULL,
	tokens_estimated BOOLEAN NOT NULL,
	cost_usd         DOUBLE PRECISION NOT NULL,
	latency_ns       BIGINT NOT NULL,
	ttft_ns          BIGINT NOT NULL,
	cache_hit        BOOLEAN NOT NULL,
	stream           BOOLEAN NOT NULL,
	partial          BOOLEAN NOT NULL
);
CREATE INDEX usage_records_ts ON usage_records(ts);
CREATE INDEX usage_records_tenant_ts ON usage_records(tenant_id, ts);
CREATE INDEX usage_records_key_ts ON usage_records(key_id, ts);
