package config

import "time"

// Defaults of the cache section; docs/config.md lists them for users.
const (
	DefaultCacheTTL           = 10 * time.Minute
	DefaultCacheMaxBytes      = 64 << 20
	DefaultCacheMaxEntryBytes = 1 << 20
)

// Values of cache.backend that are not URLs.
const (
	CacheOff    = "off"
	CacheMemory = "memory"
)

// Cache is the exact-match response cache: a complete answer is kept for
// TTL under a hash of the tenant, the route and the request body, and the
// same request from the same tenant is answered from it without calling a
// model.
type Cache struct {
	// Backend is off (the default), memory (this process) or a
	// redis://HOST:PORT/DB URL (shared by replicas; ?key_prefix=P sets
	// the key prefix, default "switchyard:"). Changing it needs a restart.
	Backend DSN `yaml:"backend"`
	// TTL is how long an answer is served from the cache; default 10m.
	TTL Duration `yaml:"ttl"`
	// MaxBytes bounds the memory backend (least recently used answers are
	// dropped first); default 64 MiB. Redis's own maxmemory policy bounds
	// the Redis backend.
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxEntryBytes is the largest answer kept; default 1 MiB.
	MaxEntryBytes int64 `yaml:"max_entry_bytes"`
	// Semantic also answers a request whose last user message means the
	// same as a cached one's (all else equal); off unless it names an
	// embedding deployment.
	Semantic SemanticCache `yaml:"semantic"`
}

// SemanticCache configures the semantic lookup after an exact miss.
type SemanticCache struct {
	// EmbeddingDeployment embeds the last user message; empty turns the
	// semantic lookup off.
	EmbeddingDeployment string `yaml:"embedding_deployment"`
	// Threshold is the least cosine similarity of a hit; default 0.95.
	Threshold float64 `yaml:"threshold"`
	// MaxEntries bounds this replica's index of embedded answers (oldest
	// dropped first); default 10000.
	MaxEntries int `yaml:"max_entries"`
	// Timeout bounds the embedding call; slower is a miss. Default 1s.
	Timeout Duration `yaml:"timeout"`
}

// Defaults of the semantic cache.
const (
	DefaultSemanticThreshold  = 0.95
	DefaultSemanticMaxEntries = 10000
	DefaultSemanticTimeout    = time.Second
)

// Enabled reports whether answers are cached.
func (c Cache) Enabled() bool { return c.Backend != "" && c.Backend != CacheOff }

func (c *Config) applyCacheDefaults() {
	k := &c.Cache
	if k.Backend == "" {
		k.Backend = CacheOff
	}
	setDur(&k.TTL, DefaultCacheTTL)
	if k.MaxBytes == 0 {
		k.MaxBytes = DefaultCacheMaxBytes
	}
	if k.MaxEntryBytes == 0 {
		// A small memory cache keeps entries of up to its whole size.
		k.MaxEntryBytes = DefaultCacheMaxEntryBytes
		if k.Backend.Value() == CacheMemory && k.MaxBytes > 0 {
			k.MaxEntryBytes = min(k.MaxEntryBytes, k.MaxBytes)
		}
	}
	if s := &k.Semantic; s.EmbeddingDeployment != "" {
		if s.Threshold == 0 {
			s.Threshold = DefaultSemanticThreshold
		}
		setInt(&s.MaxEntries, DefaultSemanticMaxEntries)
		setDur(&s.Timeout, DefaultSemanticTimeout)
	}
}

// validateCache checks the cache section; like validateTenancy it never
// quotes a URL.
func (c *Config) validateCache(v *validator) {
	k := c.Cache
	b := k.Backend.Value()
	switch {
	case b == "", b == CacheOff:
		return // nothing else matters while the cache is off
	case b == CacheMemory:
	case isRedisURL(b):
		v.redisURL("cache.backend", b)
	default:
		v.add("cache.backend", "want off, memory or redis://..., got scheme %q", scheme(b))
	}
	v.positiveDur("cache.ttl", k.TTL)
	v.boundedInt("cache.max_bytes", k.MaxBytes, MaxCacheBytes)
	v.boundedInt("cache.max_entry_bytes", k.MaxEntryBytes, MaxCacheEntryBytes)
	if k.MaxEntryBytes > k.MaxBytes && b == CacheMemory {
		v.add("cache.max_entry_bytes", "must not exceed cache.max_bytes (%d)", k.MaxBytes)
	}
	if s := k.Semantic; s.EmbeddingDeployment != "" {
		v.embeddingDeployment(c, "cache.semantic.embedding_deployment", s.EmbeddingDeployment)
		if !(s.Threshold > 0 && s.Threshold <= 1) {
			v.add("cache.semantic.threshold", "must be above 0 and at most 1, got %v", s.Threshold)
		}
		v.boundedInt("cache.semantic.max_entries", int64(s.MaxEntries), MaxSemanticEntries)
		v.positiveDur("cache.semantic.timeout", s.Timeout)
	}
}
