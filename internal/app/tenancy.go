package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/batch"
	"github.com/switchyard-gw/switchyard/internal/budget"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/dashboard"
	"github.com/switchyard-gw/switchyard/internal/feedback"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/open"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
	"github.com/switchyard-gw/switchyard/internal/usage"
)

// DefaultRedisPrefix begins every Redis key of limits and budgets; a
// key_prefix query parameter on the limits URL replaces it.
const DefaultRedisPrefix = "switchyard:"

// Tenancy is the tenants-and-keys layer built from the config: the Guard
// and Recorder the gateway takes, the admin API (already listening on
// admin.listen when enabled) and the background work.
type Tenancy struct {
	// Guard authenticates and admits requests (gateway.Options.Guard).
	Guard gateway.Guard
	// Open reports whether the gateway now takes requests without a key
	// (gateway.RefuseBrowsers).
	Open func() bool
	// Recorder is the usage ledger (gateway.Options.Recorder).
	Recorder gateway.Recorder
	// Store is the store of keys and usage (and the batch API's files
	// and batches).
	Store store.Store
	// Principals resolves a stored key to its caller, for batch lines.
	Principals batch.Principals
	// Redis is the limits Redis, nil with limits: memory; RedisPrefix its
	// key prefix.
	Redis       *redis.Client
	RedisPrefix string
	// Admin is the admin API handler, nil when no admin key is configured.
	// Run serves it on AdminAddr; do not mount it elsewhere.
	Admin http.Handler
	// AdminAddr is the admin listener's address, "" when disabled.
	AdminAddr string
	// Feedback serves POST /v1/feedback (in front of the gateway, with the
	// batch endpoints).
	Feedback http.Handler
	// Check refuses a reloaded config that the running tenancy layer
	// cannot take: one that would leave a gateway started with keys open
	// to anyone, or remove admin.key while the admin API runs. Call it
	// before applying anything of the new config.
	Check func(cfg *config.Config) error
	// Apply updates what a config reload may change (static keys, the
	// admin key) and warns about what only a restart changes.
	Apply func(cfg *config.Config)
	// Run serves the admin API and writes usage until ctx ends, then stops
	// the admin server and flushes the ledger (to the store, else the
	// spool) before returning. Cancel its ctx only after the gateway's
	// server has drained, so records of the last requests are written.
	Run func(ctx context.Context) error
	// Close releases the store and Redis; call it after Run returned.
	Close func()

	collectors []prometheus.Collector
}

// Collectors are the tenancy layer's metrics for the app to register: the
// usage ledger's counters (switchyard_usage_*) and, per limits backend,
// switchyard_limits_fallback{backend="ratelimit"|"budget"}, 1 while Redis
// is unreachable and each replica enforces its share locally, else 0
// (always 0 with the in-memory backends). No label names a tenant or key.
func (t *Tenancy) Collectors() []prometheus.Collector { return t.collectors }

// fallbacker is a limits backend that can fall back to local enforcement
// (the Redis ones).
type fallbacker interface{ Fallback() bool }

// fallbackGauge reports 1 while b is in its local fallback.
func fallbackGauge(backend string, b any) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "switchyard_limits_fallback",
		Help:        "1 while the Redis limits backend is unreachable and this replica enforces its share of the limits locally.",
		ConstLabels: prometheus.Labels{"backend": backend},
	}, func() float64 {
		if f, ok := b.(fallbacker); ok && f.Fallback() {
			return 1
		}
		return 0
	})
}

// buildTenancy opens the store and the limits backend, and builds the
// guard, the usage ledger and the admin API from cfg.
func buildTenancy(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Tenancy, error) {
	return buildTenancyOpen(ctx, cfg, log, openGateway(cfg), nil)
}

// buildTenancyOpen is buildTenancy with the open flag given (the demo is
// open, no client key needed, although it has an admin key) and the
// response cache the admin API purges (nil: none).
func buildTenancyOpen(ctx context.Context, cfg *config.Config, log *slog.Logger, openGW bool, purger admin.CachePurger) (*Tenancy, error) {
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := open.Store(octx, cfg.Store.Value())
	if err != nil {
		return nil, fmt.Errorf("app: store %s: %w", cfg.Store, err)
	}
	closers := []func(){func() { st.Close() }}
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	var limiter ratelimit.Limiter
	var budgets budget.Budgets
	var rdb *redis.Client
	var rprefix string
	if l := cfg.Limits.Value(); l == config.LimitsMemory {
		limiter, budgets = ratelimit.NewMemory(time.Now), budget.NewMemory(time.Now)
	} else {
		client, prefix, err := redisClient(l)
		if err != nil {
			closeAll()
			return nil, err
		}
		closers = append(closers, func() { client.Close() })
		rdb, rprefix = client, prefix
		limiter = ratelimit.NewRedis(client, prefix+"rl:", ratelimit.RedisOptions{Replicas: cfg.Replicas, Logger: log})
		budgets = budget.NewRedis(client, prefix+"bg:", budget.RedisOptions{Replicas: cfg.Replicas, Logger: log})
	}
	guard := tenancy.New(tenancy.Options{
		Store: st, Limiter: limiter, Budgets: budgets,
		StaticKeys: staticKeys(cfg), Open: openGW,
		CacheTTL: cfg.Auth.KeyCacheTTL.D(), Logger: log,
	})
	ledger := usage.NewLedger(st, usage.Options{
		QueueSize: cfg.Usage.QueueSize, BatchSize: cfg.Usage.BatchSize,
		FlushInterval: cfg.Usage.FlushInterval.D(), SpoolPath: cfg.Usage.SpoolPath, Logger: log,
	})
	prompts := newPromptLedger(ledger, st, log)
	fb := feedback.New(feedback.Options{Store: st, Auth: guard, Logger: log})
	t := &Tenancy{Guard: guard, Open: guard.Open, Recorder: prompts, Feedback: fb, Store: st, Principals: guard, Redis: rdb, RedisPrefix: rprefix, Close: closeAll, collectors: []prometheus.Collector{
		ledger.Collector(), fallbackGauge("ratelimit", limiter), fallbackGauge("budget", budgets), prompts, fb.Collector(),
	}}
	var adminAPI *admin.Handler
	t.Check = func(c *config.Config) error { return checkReload(openGW, adminAPI != nil, c) }
	t.Apply = func(c *config.Config) {
		// An admin.key added by a reload only counts once its admin API
		// runs (after a restart): until then no key could be issued, so
		// closing the gateway would lock every client out.
		guard.SetStatic(openUntilRestart(c, adminAPI != nil), staticKeys(c)...)
		switch {
		case adminAPI == nil && c.Admin.Key != "":
			log.Warn("admin.key was added: the admin API starts at the next restart")
		case adminAPI != nil && c.Admin.Key != "":
			adminAPI.SetKey(c.Admin.Key.Value())
			if c.Admin.Listen != cfg.Admin.Listen {
				log.Warn("admin.listen changed: the admin API moves at the next restart", "listen", t.AdminAddr)
			}
		}
	}

	var adminSrv *http.Server
	var ln net.Listener
	if cfg.Admin.Key == "" {
		log.Info("admin API disabled: no admin.key configured")
	} else {
		adminAPI = admin.New(admin.Options{Store: st, AdminKey: cfg.Admin.Key.Value(), Cache: guard, ResponseCache: purger, Logger: log})
		t.Admin = adminAPI
		ln, err = net.Listen("tcp", cfg.Admin.Listen)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("app: admin listen: %w", err)
		}
		t.AdminAddr = ln.Addr().String()
		// The client listener's limits on slow clients apply here too.
		adminSrv = &http.Server{Handler: adminMux(t.Admin), ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.D(),
			ReadTimeout: cfg.Server.ReadTimeout.D(), IdleTimeout: cfg.Server.IdleTimeout.D()}
		log.Info("admin API listening", "listen", t.AdminAddr)
	}
	t.Run = func(ctx context.Context) error {
		var wg sync.WaitGroup
		var serveErr error
		if adminSrv != nil {
			wg.Go(func() {
				if err := adminSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					serveErr = fmt.Errorf("app: admin server: %w", err)
				}
			})
			wg.Go(func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = adminSrv.Shutdown(sctx)
			})
		}
		wg.Go(func() { prompts.run(ctx) })
		// The Redis backends' background work: leave the fallback as soon
		// as Redis answers, and make the settles that failed meanwhile.
		for _, b := range []any{limiter, budgets} {
			if r, ok := b.(interface{ Run(context.Context) }); ok {
				wg.Go(func() { r.Run(ctx) })
			}
		}
		wg.Go(func() { sweepLearning(ctx, st, cfg.Learning.Retention.D(), log) })
		err := ledger.Run(ctx)
		wg.Wait()
		return errors.Join(err, serveErr)
	}
	return t, nil
}

// adminMux serves the admin API and, beside it, the dashboard (whose page
// signs in with an admin key and reads that API); / leads to the dashboard.
func adminMux(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(dashboard.Prefix, dashboard.Handler())
	mux.Handle("GET /{$}", http.RedirectHandler(dashboard.Prefix, http.StatusFound))
	mux.Handle("/", api)
	return mux
}

// staticKeys are the config's client keys, accepted without limits.
func staticKeys(cfg *config.Config) []string {
	keys := make([]string, 0, len(cfg.Server.APIKeys)+1)
	for _, k := range cfg.Server.APIKeys {
		keys = append(keys, k.Value())
	}
	return append(keys, cfg.Server.MasterKey.Value())
}

// checkReload refuses a reloaded config c that the running gateway cannot
// take safely: started with client keys (open false), it must not become
// open to anyone by a reload that drops them all; with its admin API
// running, admin.key cannot be removed (the listener stays until a
// restart, and a keyless admin API would let nobody, or anybody, in).
func checkReload(open, adminRunning bool, c *config.Config) error {
	switch {
	case !open && openUntilRestart(c, adminRunning):
		return errors.New("app: the new config has no client key (server.api_keys, server.master_key) and no admin.key, which would serve anyone without authentication; a reload cannot open a gateway that started with keys (restart to do that)")
	case adminRunning && c.Admin.Key == "":
		return errors.New("app: the new config removes admin.key while the admin API is running; a reload cannot stop it (restart to disable the admin API)")
	}
	return nil
}

// openGateway reports whether no client key can exist: no static keys and
// no admin API to issue virtual ones.
func openGateway(cfg *config.Config) bool {
	return len(cfg.Server.APIKeys) == 0 && cfg.Server.MasterKey == "" && cfg.Admin.Key == ""
}

// openUntilRestart is openGateway for a config reloaded into a running
// gateway: its admin.key only counts when the admin API is running.
func openUntilRestart(cfg *config.Config, adminRunning bool) bool {
	return len(cfg.Server.APIKeys) == 0 && cfg.Server.MasterKey == "" && (cfg.Admin.Key == "" || !adminRunning)
}

// redisClient parses a Redis URL (limits, cache.backend); a key_prefix query parameter sets the
// key prefix (default DefaultRedisPrefix).
func redisClient(raw string) (*redis.Client, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", errors.New("app: invalid redis URL")
	}
	q := u.Query()
	prefix := DefaultRedisPrefix
	if p := q.Get("key_prefix"); p != "" {
		prefix = p
	}
	q.Del("key_prefix")
	u.RawQuery = q.Encode()
	opts, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, "", fmt.Errorf("app: redis URL: %w", err)
	}
	// Limits, budgets and the cache are asked on a request's path: a Redis
	// that hangs must fail fast into the local fallback, not hold the
	// request for go-redis's defaults (5 s dial, 3 s reads, 3 retries).
	// The URL's own settings win.
	for param, set := range map[string]func(){
		"dial_timeout":  func() { opts.DialTimeout = redisDialTimeout },
		"read_timeout":  func() { opts.ReadTimeout = redisIOTimeout },
		"write_timeout": func() { opts.WriteTimeout = redisIOTimeout },
		"max_retries":   func() { opts.MaxRetries = 1 },
		"pool_timeout":  func() { opts.PoolTimeout = redisDialTimeout },
	} {
		if !q.Has(param) {
			set()
		}
	}
	// The callers' own deadlines (the cache's 100 ms lookup and 1 s store)
	// bound each command too; without this go-redis ignores them and only
	// the timeouts above apply.
	opts.ContextTimeoutEnabled = true
	return redis.NewClient(opts), prefix, nil
}

// Defaults of a Redis URL without its own timeouts: how long a request may
// wait on a Redis that hangs before its limits, budgets or cache fall back.
const (
	redisDialTimeout = 500 * time.Millisecond
	redisIOTimeout   = 300 * time.Millisecond
)
