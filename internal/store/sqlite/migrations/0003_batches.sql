-- The Files and Batch APIs: uploaded and generated files with their
-- content, batches (indexed columns plus the batch object as JSON), and
-- each batch line's result until the batch's output files are written.
CREATE TABLE files (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	purpose    TEXT NOT NULL,
	filename   TEXT NOT NULL,
	bytes      INTEGER NOT NULL,
	created_us INTEGER NOT NULL,
	content    BLOB NOT NULL
);
CREATE INDEX files_tenant ON files(tenant_id, id);

CREATE TABLE batches (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	key_id     TEXT NOT NULL,
	status     TEXT NOT NULL,
	created_us INTEGER NOT NULL,
	doc        TEXT NOT NULL
);
CREATE INDEX batches_tenant ON batches(tenant_id, id);
CREATE INDEX batches_status ON batches(status);

CREATE TABLE batch_results (
	batch_id TEXT NOT NULL,
	line     INTEGER NOT NULL,
	ok       INTEGER NOT NULL,
	data     BLOB NOT NULL,
	PRIMARY KEY (batch_id, line)
);
