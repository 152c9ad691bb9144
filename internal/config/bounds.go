package config

// Upper bounds of the config's integer sizes and counts. Each is far above
// any sensible setting, and low enough that what the gateway sizes from it
// (a cache, a batch buffer, one goroutine per worker, a read limit) fits
// in memory: a typo such as 9000000000000000000 is a config error naming
// the field, never a crash at start or at a reload. docs/config.md lists
// each next to its field.
const (
	MaxServerBodyBytes      = 1 << 30 // server.max_body_bytes: 1 GiB
	MaxExecutorAttempts     = 100     // executor.max_attempts
	MaxRetriesPerDeployment = 100     // executor.retries_per_deployment
	MaxBreakerThreshold     = 1_000_000
	MaxTokens               = 1_000_000_000 // deployments[].context_window, max_output_tokens
	MaxClassifierCacheSize  = 1_000_000     // routes[].classifier.cache_size
	MaxCheckMinLength       = 100_000_000   // routes[].checks[].min_length
	MaxReplicas             = 10_000
	MaxUsageQueueSize       = 1_000_000
	MaxUsageBatchSize       = 10_000
	MaxCacheBytes           = 1 << 40 // cache.max_bytes: 1 TiB
	MaxCacheEntryBytes      = 1 << 30 // cache.max_entry_bytes: 1 GiB
	MaxSemanticEntries      = 1_000_000
	MaxBatchWorkers         = 1024
	MaxBatchConcurrency     = 1024
	MaxBatchFileBytes       = 1 << 30 // batch.max_file_bytes: 1 GiB
	MaxBatchRequests        = 1_000_000
	// MaxPrice bounds every price (USD a million tokens, an image, a
	// minute, a second): a finite but absurd one such as 1.7e308 made a
	// call's cost +Inf, which no usage figure or export can carry (found
	// by audit AF).
	MaxPrice = 1_000_000
	// MaxConfigFileBytes is the largest config file read: a larger one is
	// refused, not read.
	MaxConfigFileBytes = 16 << 20
)

// boundedInt requires 1 <= n <= max.
func (v *validator) boundedInt(path string, n, max int64) {
	switch {
	case n <= 0:
		v.add(path, "must be positive, got %d", n)
	case n > max:
		v.add(path, "must be at most %d, got %d", max, n)
	}
}

// atMost requires n <= max (the field's own checks handle the low end).
func (v *validator) atMost(path string, n, max int64) {
	if n > max {
		v.add(path, "must be at most %d, got %d", max, n)
	}
}
