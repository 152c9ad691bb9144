-- Input tokens read from and written to the provider's prompt cache: part of
-- input_tokens, priced apart (price.cached_input_per_mtok, cache_write_per_mtok).
ALTER TABLE usage_records
	ADD COLUMN cached_input_tokens BIGINT NOT NULL DEFAULT 0,
	ADD COLUMN cache_write_tokens  BIGINT NOT NULL DEFAULT 0;
