package config

import (
	"net/url"
	"strings"
	"time"
)

// Defaults of the tenancy sections (store, limits, replicas, admin, usage,
// auth); docs/config.md lists them for users.
const (
	// DefaultStore is a SQLite file in the working directory.
	DefaultStore          = "sqlite://switchyard.db"
	DefaultLimits         = "memory"
	DefaultReplicas       = 1
	DefaultAdminListen    = "127.0.0.1:8081"
	DefaultUsageQueueSize = 10000
	DefaultUsageBatchSize = 500
	DefaultUsageFlush     = time.Second
	// DefaultUsageSpoolPath is next to the default store file.
	DefaultUsageSpoolPath = "switchyard-usage.spool"
	DefaultKeyCacheTTL    = 5 * time.Second
)

// LimitsMemory is the value of `limits` that keeps rate limits and budgets
// in this process.
const LimitsMemory = "memory"

// Admin is the admin API's own listener. Without a key the admin API is
// disabled.
type Admin struct {
	// Listen is the admin address; default 127.0.0.1:8081.
	Listen string `yaml:"listen"`
	// Key is the global admin key (usually an ${ENV} reference).
	Key Secret `yaml:"key"`
}

// Usage tunes the usage ledger that writes one record per client request.
type Usage struct {
	// QueueSize bounds the in-memory queue; default 10000.
	QueueSize int `yaml:"queue_size"`
	// BatchSize is the most records in one store write; default 500.
	BatchSize int `yaml:"batch_size"`
	// FlushInterval is how long a partial batch may wait; default 1s.
	FlushInterval Duration `yaml:"flush_interval"`
	// SpoolPath is the file records go to while the store is down or the
	// queue is full; default switchyard-usage.spool.
	SpoolPath string `yaml:"spool_path"`
}

// Auth tunes virtual key authentication.
type Auth struct {
	// KeyCacheTTL is how long a looked-up key is trusted before it is read
	// again, so the longest a revoked key keeps working; default 5s.
	KeyCacheTTL Duration `yaml:"key_cache_ttl"`
}

// DSN is a connection URL (store or Redis). It is not a Secret, but its
// password never prints: String and MarshalYAML replace it with "xxxxx",
// in the user info, in a query parameter (postgres://h/db?password=…) and
// in a key/value string (host=h password=…), which pgx all accept.
type DSN string

// String returns the URL with any password redacted.
func (d DSN) String() string {
	s := string(d)
	if !strings.Contains(s, "://") {
		return redactKeyValues(s)
	}
	u, err := url.Parse(s)
	if err != nil {
		if strings.ContainsAny(s, "@?") {
			return "<redacted>"
		}
		return s
	}
	if q := u.Query(); u.RawQuery != "" {
		hidden := false
		for k := range q {
			if secretParam(k) {
				q[k], hidden = []string{"xxxxx"}, true
			}
		}
		if hidden {
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}

// secretParam reports whether a connection parameter holds a secret
// (password, sslpassword, passwd, auth token...).
func secretParam(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "pass") || strings.Contains(n, "secret") || strings.Contains(n, "token")
}

// redactKeyValues hides the secret values of a libpq key/value string
// ("host=h user=u password=pw"); anything it cannot read as one is
// hidden whole when it has an '='.
func redactKeyValues(s string) string {
	fields := strings.Fields(s)
	for i, f := range fields {
		k, _, ok := strings.Cut(f, "=")
		if ok && secretParam(k) {
			fields[i] = k + "=xxxxx"
		}
	}
	out := strings.Join(fields, " ")
	if strings.ContainsAny(out, "'\\") && strings.Contains(out, "=") {
		return "<redacted>" // quoted values could hide a password after a space
	}
	return out
}

// MarshalYAML redacts the password.
func (d DSN) MarshalYAML() (any, error) { return d.String(), nil }

// Value returns the plain URL.
func (d DSN) Value() string { return string(d) }

// expandTenancy resolves ${ENV} references in store, limits and admin.key.
func (c *Config) expandTenancy(str func(path string, p *string)) {
	s := string(c.Store)
	str("store", &s)
	c.Store = DSN(s)
	l := string(c.Limits)
	str("limits", &l)
	c.Limits = DSN(l)
	k := string(c.Admin.Key)
	str("admin.key", &k)
	c.Admin.Key = Secret(k)
	b := string(c.Cache.Backend)
	str("cache.backend", &b)
	c.Cache.Backend = DSN(b)
}

// applyTenancyDefaults fills the tenancy sections' zero fields.
func (c *Config) applyTenancyDefaults() {
	if c.Store == "" {
		c.Store = DefaultStore
	}
	if c.Limits == "" {
		c.Limits = DefaultLimits
	}
	setInt(&c.Replicas, DefaultReplicas)
	setStr(&c.Admin.Listen, DefaultAdminListen)
	setInt(&c.Usage.QueueSize, DefaultUsageQueueSize)
	setInt(&c.Usage.BatchSize, DefaultUsageBatchSize)
	setDur(&c.Usage.FlushInterval, DefaultUsageFlush)
	setStr(&c.Usage.SpoolPath, DefaultUsageSpoolPath)
	setDur(&c.Auth.KeyCacheTTL, DefaultKeyCacheTTL)
}

// validateTenancy checks the tenancy sections. Messages never quote a URL:
// it may carry a password.
func (c *Config) validateTenancy(v *validator) {
	s := c.Store.Value()
	switch {
	case strings.HasPrefix(s, "sqlite://"):
		if strings.TrimPrefix(s, "sqlite://") == "" {
			v.add("store", "sqlite:// needs a path, such as sqlite://switchyard.db")
		}
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		if _, err := url.Parse(s); err != nil {
			v.add("store", "invalid postgres URL")
		}
	default:
		v.add("store", "want sqlite://PATH or postgres://..., got scheme %q", scheme(s))
	}
	l := c.Limits.Value()
	switch {
	case l == LimitsMemory:
	case isRedisURL(l):
		v.redisURL("limits", l)
	default:
		v.add("limits", "want memory or redis://..., got scheme %q", scheme(l))
	}
	v.boundedInt("replicas", int64(c.Replicas), MaxReplicas)
	if err := checkHostPort(c.Admin.Listen); err != nil {
		v.add("admin.listen", "%v", err)
	}
	if c.Admin.Key != "" && listenersClash(c.Admin.Listen, c.Server.Listen) {
		v.add("admin.listen", "must differ from server.listen (%s)", c.Server.Listen)
	}
	if msg := badClientKey(c.Admin.Key); msg != "" {
		v.add("admin.key", "%s", msg)
	}
	if k := c.Admin.Key; k != "" {
		// One key for both would make every client an administrator.
		clash := k == c.Server.MasterKey
		for _, ck := range c.Server.APIKeys {
			clash = clash || k == ck
		}
		if clash {
			v.add("admin.key", "must differ from server.master_key and every server.api_keys entry")
		}
	}
	v.boundedInt("usage.queue_size", int64(c.Usage.QueueSize), MaxUsageQueueSize)
	v.boundedInt("usage.batch_size", int64(c.Usage.BatchSize), MaxUsageBatchSize)
	v.positiveDur("usage.flush_interval", c.Usage.FlushInterval)
	v.positiveDur("auth.key_cache_ttl", c.Auth.KeyCacheTTL)
}

// isRedisURL reports whether s names Redis (redis:// or rediss://).
func isRedisURL(s string) bool {
	return strings.HasPrefix(s, "redis://") || strings.HasPrefix(s, "rediss://")
}

// redisURL checks a Redis URL has a host; the message never quotes it (it
// may carry a password).
func (v *validator) redisURL(path, s string) {
	if u, err := url.Parse(s); err != nil || u.Host == "" {
		v.add(path, "invalid redis URL (want redis://HOST:PORT/DB)")
	}
}

func scheme(s string) string {
	sc, _, found := strings.Cut(s, "://")
	if !found {
		return "(none)"
	}
	return sc
}
