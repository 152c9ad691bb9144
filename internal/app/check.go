package app

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// CheckConnections reports what serve would refuse in cfg's connection
// URLs (limits and cache Redis, the batch NATS queue) without connecting:
// config validation checks their scheme, this parses them as the clients
// will.
func CheckConnections(cfg *config.Config) error {
	redisURLs := map[string]string{}
	if l := cfg.Limits.Value(); l != config.LimitsMemory {
		redisURLs["limits"] = l
	}
	if b := cfg.Cache.Backend.Value(); cfg.Cache.Enabled() && b != config.CacheMemory {
		redisURLs["cache.backend"] = b
	}
	for _, field := range []string{"limits", "cache.backend"} {
		raw, ok := redisURLs[field]
		if !ok {
			continue
		}
		c, _, err := redisClient(raw)
		if err != nil {
			return fmt.Errorf("%s: %v", field, err)
		}
		_ = c.Close() // never used: NewClient dials on first use
	}
	if q := cfg.Batch.Queue.Value(); q != config.BatchQueueEmbedded {
		u, err := url.Parse(q)
		if err != nil {
			return fmt.Errorf("batch.queue: not a URL")
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("batch.queue: port %q is not a number from 1 to 65535", p)
			}
		}
	}
	return nil
}
