package app

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/server"
	"github.com/switchyard-gw/switchyard/internal/store/postgres"
)

// Check reports what serve would refuse at start-up in cfg (which Load
// validated) without connecting anywhere: a router file that does not
// load, a store, Redis or NATS URL its client cannot take, and an open
// gateway (no client key can exist) on an address other than loopback.
// switchyard check runs it; serve meets the same refusals as it starts.
func Check(cfg *config.Config) error {
	if err := gateway.Check(cfg); err != nil {
		return err
	}
	if err := CheckConnections(cfg); err != nil {
		return err
	}
	if openGateway(cfg) {
		return checkOpenListen(cfg.Server.Listen)
	}
	return nil
}

// checkOpenListen refuses to serve an open gateway on listen unless it is
// a loopback address.
func checkOpenListen(listen string) error {
	if !server.IsLoopback(listen) {
		return fmt.Errorf("app: no API key is configured, so the gateway only serves on a loopback address; %q is not one (set server.api_keys or server.master_key)", listen)
	}
	return nil
}

// CheckConnections reports what serve would refuse in cfg's connection
// URLs (a Postgres store, limits and cache Redis, the batch NATS queue)
// without connecting: config validation checks their scheme, this parses
// them as the clients will.
func CheckConnections(cfg *config.Config) error {
	if s := cfg.Store.Value(); strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		if _, _, err := postgres.ParseURL(s); err != nil {
			return fmt.Errorf("store: %v", err)
		}
	}
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
