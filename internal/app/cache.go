package app

import (
	"log/slog"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/config"
)

// buildCache opens the response cache's store named by cache.backend: nil
// when the cache is off. The returned function releases it.
func buildCache(cfg *config.Config) (cache.Store, func(), error) {
	c := cfg.Cache
	switch b := c.Backend.Value(); {
	case !c.Enabled():
		return nil, func() {}, nil
	case b == config.CacheMemory:
		return cache.NewMemory(c.MaxBytes, nil), func() {}, nil
	default:
		client, prefix, err := redisClient(b)
		if err != nil {
			return nil, nil, err
		}
		return cache.NewRedis(client, prefix+"cache:"), func() { client.Close() }, nil
	}
}

// warnCacheRestart logs when a reloaded config names another cache backend
// or memory bound than the one this process opened: those take a restart.
// Turning the cache off, its TTL and its entry limit apply at once.
func warnCacheRestart(log *slog.Logger, running, next config.Cache) {
	if !next.Enabled() {
		return
	}
	if next.Backend != running.Backend || next.Backend == config.CacheMemory && next.MaxBytes != running.MaxBytes {
		log.Warn("cache.backend and cache.max_bytes take effect at restart; the cache keeps its running store",
			"running", running.Backend.String(), "configured", next.Backend.String())
	}
}
