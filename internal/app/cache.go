package app

import (
	"context"
	"log/slog"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/gateway"
)

// respCache is the response cache of one process: the store named by
// cache.backend and this replica's semantic index; both nil when the
// cache is off.
type respCache struct {
	store    cache.Store
	semantic *cache.Semantic
	// affinity remembers which deployment made each Responses API
	// response: in the limits Redis when there is one (shared by
	// replicas), else nil (the gateway's in-memory default).
	affinity cache.Store
	// share keeps the semantic index in step with the other replicas'
	// through the cache's Redis; nil with the memory backend.
	share *cache.SemanticShare
	close func()
}

// shareSemantic runs the semantic index's sharing until ctx ends, reading
// the other replicas' entries while on reports the semantic lookup on; the
// returned function waits for that.
func (rc respCache) shareSemantic(ctx context.Context, on func() bool) (wait func()) {
	if rc.share == nil {
		return func() {}
	}
	rc.share.SetActive(on)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = rc.share.Run(ctx)
	}()
	return func() { <-done }
}

// semanticOn reports whether gw's config in force has the semantic lookup
// on.
func semanticOn(gw *gateway.Gateway) func() bool {
	return func() bool {
		c := gw.Config()
		return c != nil && c.Cache.Semantic.EmbeddingDeployment != ""
	}
}

// Purge empties the response cache of one tenant, or of all; it
// implements admin.CachePurger.
func (rc respCache) Purge(ctx context.Context, tenantID string, all bool) (int, error) {
	if rc.store == nil {
		return 0, nil
	}
	prefix := ""
	if !all {
		prefix = cache.TenantPrefix(tenantID)
	}
	rc.semantic.Purge(prefix)
	if rc.share != nil {
		// The other replicas' indexes drop the same entries.
		if err := rc.share.Purge(ctx, prefix); err != nil {
			return 0, err
		}
	}
	return rc.store.Purge(ctx, prefix)
}

// buildCache opens the response cache's store named by cache.backend. The
// semantic index exists whenever the cache is on, sized by
// cache.semantic.max_entries, so a reload may turn the semantic lookup on.
func buildCache(cfg *config.Config, log *slog.Logger) (respCache, error) {
	c := cfg.Cache
	rc := respCache{close: func() {}}
	if l := cfg.Limits.Value(); l != config.LimitsMemory {
		client, prefix, err := redisClient(l)
		if err != nil {
			return respCache{}, err
		}
		rc.affinity, rc.close = cache.NewRedis(client, prefix+"aff:"), func() { client.Close() }
	}
	if !c.Enabled() {
		return rc, nil
	}
	entries := c.Semantic.MaxEntries
	if entries <= 0 {
		entries = config.DefaultSemanticMaxEntries
	}
	rc.semantic = cache.NewSemantic(entries, nil)
	if b := c.Backend.Value(); b == config.CacheMemory {
		rc.store = cache.NewMemory(c.MaxBytes, nil)
		return rc, nil
	}
	client, prefix, err := redisClient(c.Backend.Value())
	if err != nil {
		rc.close()
		return respCache{}, err
	}
	closeAffinity := rc.close
	rc.store, rc.close = cache.NewRedis(client, prefix+"cache:"), func() { client.Close(); closeAffinity() }
	rc.share = cache.NewSemanticShare(client, prefix+"semantic", rc.semantic, entries, log)
	return rc, nil
}

// warnCacheRestart logs when a reloaded config names another cache backend
// or memory bound than the one this process opened: those take a restart.
// Turning the cache off, its TTL and its entry limit apply at once.
func warnCacheRestart(log *slog.Logger, running, next config.Cache) {
	if !next.Enabled() {
		return
	}
	if next.Backend != running.Backend || next.Backend == config.CacheMemory && next.MaxBytes != running.MaxBytes ||
		next.Semantic.MaxEntries != running.Semantic.MaxEntries && running.Semantic.MaxEntries != 0 {
		log.Warn("cache.backend, cache.max_bytes and cache.semantic.max_entries take effect at restart; the cache keeps its running store",
			"running", running.Backend.String(), "configured", next.Backend.String())
	}
}
