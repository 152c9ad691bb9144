package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/logtest"
	"github.com/switchyard-gw/switchyard/internal/server"
	"github.com/switchyard-gw/switchyard/internal/sim"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/open"
	"github.com/switchyard-gw/switchyard/internal/store/storetest"
	"github.com/switchyard-gw/switchyard/internal/telemetry"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// Canary secrets: none may appear in a response, log line or usage record.
const (
	canaryProvider = "sk-provider-canary-7c1d"
	canaryAdmin    = "adm-canary-93ab"
)

// tenantStack is a gateway with the tenancy layer over the simulated provider.
type tenantStack struct {
	t     *testing.T
	base  string
	admin string
	ten   *Tenancy
	rc    respCache
	reg   *prometheus.Registry // what /metrics serves, as in Serve
	logs  *logtest.Buffer
	hc    *http.Client
	stop  func()
}

// tenancyConfig is baseConfig with the provider key set to a canary;
// extra YAML (store, limits, admin ...) is appended.
func tenancyConfig(simURL, extra string) string {
	c := strings.Replace(baseConfig, storeConfig, "", 1)
	c = strings.ReplaceAll(c, "{{SIM}}", simURL)
	c = strings.Replace(c, "base_url: "+simURL+"/v1\n", "base_url: "+simURL+"/v1\n    api_key: "+canaryProvider+"\n", 1)
	return c + extra
}

// startTenantStack builds what Serve will once it calls buildTenancy: the
// tenancy layer, a gateway using its Guard and Recorder, and the server.
func startTenantStack(t *testing.T, simURL, extra string) *tenantStack {
	t.Helper()
	return startEditedTenantStack(t, simURL, extra, func(c string) string { return c })
}

// startEditedTenantStack is startTenantStack with the config text passed
// through edit before it is parsed.
func startEditedTenantStack(t *testing.T, simURL, extra string, edit func(string) string) *tenantStack {
	t.Helper()
	cfg, err := config.Parse([]byte(edit(tenancyConfig(simURL, extra))), os.Getenv)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	rc, err := buildCache(cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("buildCache: %v", err)
	}
	ten, err := buildTenancyOpen(ctx, cfg, log, openGateway(cfg), rc)
	if err != nil {
		cancel()
		t.Fatalf("buildTenancy: %v", err)
	}
	reg := prometheus.NewRegistry()
	metrics := telemetry.NewMetrics(reg)
	reg.MustRegister(ten.Collectors()...)
	exec := executor.New(gateway.ExecutorOptions(cfg))
	gw := gateway.New(gateway.Options{Logger: log, Metrics: metrics, Executor: exec, Guard: ten.Guard, Recorder: ten.Recorder, Cache: rc.store, Semantic: rc.semantic, Affinity: rc.affinity})
	if err := gw.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	bat, err := buildBatches(ctx, cfg, ten, gw.Handler(), metrics, log)
	if err != nil {
		cancel()
		t.Fatalf("buildBatches: %v", err)
	}
	srv := server.New(server.Options{API: bat.Handler, Ready: gw.Ready, Gatherer: reg, InFlight: metrics.InFlight, Logger: log, ShutdownTimeout: 5 * time.Second,
		Refused: accountRefusal(metrics, ten.Recorder, gw)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stopSrv := context.WithCancel(ctx)
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Serve(srvCtx, ln) }()
	runDone := make(chan error, 1)
	go func() { runDone <- ten.Run(ctx) }()
	batDone := make(chan error, 1)
	go func() { batDone <- bat.Run(srvCtx) }()
	circuitsDone := shareCircuits(srvCtx, ten, exec, log)
	semanticDone := rc.shareSemantic(srvCtx, semanticOn(gw))
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	s := &tenantStack{t: t, base: "http://" + ln.Addr().String(), ten: ten, rc: rc, reg: reg, logs: logs, hc: &http.Client{Transport: tr}}
	if ten.AdminAddr != "" {
		s.admin = "http://" + ten.AdminAddr
	}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			tr.CloseIdleConnections()
			stopSrv()
			<-srvDone
			<-batDone
			circuitsDone()
			semanticDone()
			bat.Close()
			// Upstream connections go, also one a cancelled batch line
			// dialled and never used, which would keep the simulator's
			// shutdown waiting 5 s for its first request.
			gw.Close()
			cancel() // after the drain: the ledger flushes the last records
			if err := <-runDone; err != nil {
				t.Errorf("tenancy run: %v", err)
			}
			ten.Close()
			rc.close()
		})
	}
	t.Cleanup(s.stop)
	return s
}

// scrape returns the gateway's /metrics text.
func (s *tenantStack) scrape() string {
	s.t.Helper()
	resp, err := s.hc.Get(s.base + "/metrics")
	if err != nil {
		s.t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		s.t.Fatalf("scrape: got %d, want 200", resp.StatusCode)
	}
	return string(b)
}

func startSim(t *testing.T, cfg sim.Config) string {
	t.Helper()
	_, u, stop, err := sim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return u
}

// adminDo calls the admin API as the global admin.
func (s *tenantStack) adminDo(method, path string, body any, out any) int {
	s.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, s.admin+path, strings.NewReader(string(b)))
	req.Header.Set("x-api-key", canaryAdmin)
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatalf("admin %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(data), canaryAdmin) || strings.Contains(string(data), canaryProvider) {
		s.t.Errorf("got a canary secret in an admin response")
	}
	if out != nil {
		json.Unmarshal(data, out)
	}
	return resp.StatusCode
}

// newKey creates tenant (ignoring "exists") and a key in it.
func (s *tenantStack) newKey(tenant string, in admin.KeyCreate) admin.KeyView {
	s.t.Helper()
	s.adminDo("POST", "/admin/tenants", admin.TenantCreate{ID: tenant}, nil)
	in.TenantID = tenant
	var v admin.KeyView
	if code := s.adminDo("POST", "/admin/keys", in, &v); code != 201 {
		s.t.Fatalf("create key: got %d, want 201", code)
	}
	return v
}

const tenChatBody = `{"model":"cheap","max_tokens":50,"messages":[{"role":"user","content":"hello there"}]}`

// chat sends one chat request with key and returns status and body.
func chat(hc *http.Client, base, key, body string) (int, string, http.Header) {
	req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// waitForT polls cond like waitFor, reporting state() on timeout.
func waitForT(t *testing.T, what string, cond func() bool, state func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last state %s", what, state())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sqliteExtra(t *testing.T, more string) string {
	dir := t.TempDir()
	return fmt.Sprintf("store: sqlite://%s\nusage: {flush_interval: 20ms, spool_path: %s}\nadmin: {listen: 127.0.0.1:0, key: %s}\nauth: {key_cache_ttl: 200ms}\n%s",
		filepath.Join(dir, "sy.db"), filepath.Join(dir, "usage.spool"), canaryAdmin, more)
}

// storeOf opens the store that the tenancy YAML extra names (its first
// line), closed when the test ends; call it after the stack stopped.
func storeOf(t *testing.T, extra string) store.Store {
	t.Helper()
	st, err := open.Store(context.Background(), strings.TrimPrefix(strings.SplitN(extra, "\n", 2)[0], "store: "))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// usageCount returns the number of usage records in the store of s.
func usageRecords(t *testing.T, st store.Store) []store.UsageRecord {
	var recs []store.UsageRecord
	if err := st.ExportUsage(context.Background(), time.Time{}, time.Time{}, "", func(r store.UsageRecord) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestTenancyEndToEnd(t *testing.T) {
	simURL := startSim(t, sim.DefaultConfig())
	extra := sqliteExtra(t, "")
	s := startTenantStack(t, simURL, extra)
	k := s.newKey("acme", admin.KeyCreate{Name: "svc", AllowedRoutes: []string{"cheap"}})
	if code, body, _ := chat(s.hc, s.base, k.Secret, tenChatBody); code != 200 {
		t.Fatalf("got %d %s, want 200 with a virtual key", code, body)
	}
	// x-api-key works too (Anthropic style).
	req, _ := http.NewRequest("POST", s.base+"/v1/messages", strings.NewReader(`{"model":"cheap","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("x-api-key", k.Secret)
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("got %d with x-api-key, want 200", resp.StatusCode)
	}
	// Poll once the two served requests are in, decoding into the value
	// the final poll reuses (see below).
	var out struct{ Usage []admin.UsageRow }
	waitForT(t, "the first usage rows", func() bool {
		s.adminDo("GET", "/admin/usage?group_by=tenant,key", nil, &out)
		return len(out.Usage) == 1 && out.Usage[0].Requests == 2
	}, func() string { return fmt.Sprintf("%+v", out.Usage) })
	if code, body, _ := chat(s.hc, s.base, k.Secret, strings.Replace(tenChatBody, "cheap", "auto", 1)); code != 403 {
		t.Errorf("got %d %s for a route outside allowed_routes, want 403", code, body)
	}
	if code, body, _ := chat(s.hc, s.base, "sk-sy-wrong", tenChatBody); code != 401 || !strings.Contains(body, "invalid_api_key") {
		t.Errorf("got %d %s for an unknown key, want 401 invalid_api_key", code, body)
	}
	if code := s.adminDo("POST", "/admin/keys/"+k.ID+"/revoke", nil, nil); code != 200 {
		t.Fatalf("revoke: got %d", code)
	}
	// The admin API forgets the key at once in this process; other
	// replicas within key_cache_ttl.
	if code, _, _ := chat(s.hc, s.base, k.Secret, tenChatBody); code != 401 {
		t.Errorf("got %d after revoke, want 401", code)
	}
	// Poll until all five records are in, decoding into one reused value
	// on purpose: the unauthenticated row (tenant "") must not inherit the
	// previous poll's tenant and key (it did while the admin API omitted
	// empty grouped dimensions, counting acme's requests twice).
	perKey := func() (acme, anon, total int64) {
		for _, r := range out.Usage {
			switch {
			case r.TenantID == "acme" && r.KeyID == k.ID:
				acme += r.Requests
			case r.TenantID == "" && r.KeyID == "":
				anon += r.Requests
			}
			total += r.Requests
		}
		return
	}
	waitForT(t, "usage rows", func() bool {
		s.adminDo("GET", "/admin/usage?group_by=tenant,key", nil, &out)
		_, _, total := perKey()
		return total == 5
	}, func() string { return fmt.Sprintf("%+v", out.Usage) })
	if acme, anon, _ := perKey(); acme != 4 || anon != 1 || len(out.Usage) != 2 {
		t.Errorf("got %d rows: acme/%s %d and unauthenticated %d, want 2 rows: 4 (two served, one refused by route, one with the key revoked) and 1 (the unknown key's 401)",
			len(out.Usage), k.ID, acme, anon)
	}
	s.stop()
	st := storeOf(t, extra)
	recs := usageRecords(t, st)
	if len(recs) != 5 {
		t.Errorf("got %d usage records, want 5 (one per client request)", len(recs))
	}
	all, _ := json.Marshal(recs)
	for _, canary := range []string{canaryProvider, canaryAdmin, k.Secret} {
		if strings.Contains(s.logs.String(), canary) {
			t.Errorf("got canary %.12s... in the logs", canary)
		}
		if strings.Contains(string(all), canary) {
			t.Errorf("got canary %.12s... in a usage record", canary)
		}
	}
}

// TestBudgetRace sends 50 concurrent requests on a key whose budget has
// room for one estimate: exactly one is admitted.
func TestBudgetRace(t *testing.T) {
	simCfg := sim.DefaultConfig()
	for i := range simCfg.Models {
		simCfg.Models[i].Latency = 300 * time.Millisecond
	}
	s := startTenantStack(t, startSim(t, simCfg), sqliteExtra(t, ""))
	// Route cheap reserves the worst of small and medium: 1000 output
	// tokens at $4/MTok is $0.004 plus input; $0.006 holds one.
	k := s.newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{BudgetDailyUSD: 0.006}})
	body := `{"model":"cheap","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}`
	var ok, over atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			code, b, h := chat(s.hc, s.base, k.Secret, body)
			switch {
			case code == 200:
				ok.Add(1)
			case code == 429 && strings.Contains(b, "budget_exceeded") && h.Get("Retry-After") != "":
				over.Add(1)
			default:
				t.Errorf("got %d %s, want 200 or 429 budget_exceeded", code, b)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok.Load() != 1 || over.Load() != 49 {
		t.Errorf("got %d admitted and %d over budget, want 1 and 49", ok.Load(), over.Load())
	}
}

// redisURL returns a limits URL with a fresh key prefix, skipping when
// Redis is unreachable (failing under SWITCHYARD_TEST_SERVICES=require).
func redisURL(t *testing.T) string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if os.Getenv("SWITCHYARD_TEST_SERVICES") == "require" {
			t.Fatalf("redis unreachable and SWITCHYARD_TEST_SERVICES=require: %v", err)
		}
		t.Skipf("redis at 127.0.0.1:6379 unreachable (set SWITCHYARD_TEST_SERVICES=require to fail): %v", err)
	}
	prefix := "sytest:" + store.NewID("") + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
		defer c.Close()
		keys, _ := c.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return "redis://127.0.0.1:6379/0?key_prefix=" + prefix
}

// TestLimitsAcrossReplicas runs three gateways sharing one store and one
// Redis: 600 requests on a 60-RPM key admit 60. With Redis unreachable,
// each replica enforces 60/3, so the fleet still admits 60, not 600.
func TestLimitsAcrossReplicas(t *testing.T) {
	simURL := startSim(t, sim.DefaultConfig())
	tests := []struct {
		name   string
		limits func(t *testing.T) string
	}{
		{name: "shared redis", limits: redisURL},
		{name: "redis unreachable", limits: func(*testing.T) string { return "redis://127.0.0.1:1/0" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			extra := fmt.Sprintf("store: sqlite://%s\nlimits: \"%s\"\nreplicas: 3\nusage: {spool_path: %s}\nadmin: {listen: 127.0.0.1:0, key: %s}\n",
				filepath.Join(dir, "sy.db"), tt.limits(t), filepath.Join(dir, "u.spool"), canaryAdmin)
			var stacks []*tenantStack
			for range 3 {
				stacks = append(stacks, startTenantStack(t, simURL, extra))
			}
			k := stacks[0].newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{RPM: 60}})
			var ok, limited atomic.Int64
			var wg sync.WaitGroup
			sem := make(chan struct{}, 32)
			began := time.Now()
			for i := range 600 {
				s := stacks[i%3]
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					code, b, h := chat(s.hc, s.base, k.Secret, tenChatBody)
					switch {
					case code == 200:
						ok.Add(1)
					case code == 429 && strings.Contains(b, "rate_limit_exceeded") && strings.Contains(b, "rpm") && h.Get("Retry-After") != "":
						limited.Add(1)
					default:
						t.Errorf("got %d %s, want 200 or 429 rate_limit_exceeded", code, b)
					}
				})
			}
			wg.Wait()
			// The fleet refills one request a second (60 RPM; each of
			// three replicas 20 RPM when Redis is unreachable), so a run
			// slowed by a loaded machine may admit that many more, plus
			// one per replica for rounding; never anywhere near 600.
			most := 60 + int(time.Since(began)/time.Second) + 3
			if got := ok.Load(); got < 60 || got > int64(most) {
				t.Errorf("got %d admitted of 600, want 60 (at most %d after the run's refill)", got, most)
			}
			if ok.Load()+limited.Load() != 600 {
				t.Errorf("got %d answered, want 600", ok.Load()+limited.Load())
			}
			wantFallback := "0"
			if tt.name == "redis unreachable" {
				wantFallback = "1"
			}
			for i, s := range stacks {
				m := s.scrape()
				if want := `switchyard_limits_fallback{backend="ratelimit"} ` + wantFallback; !strings.Contains(m, want) {
					t.Errorf("replica %d: got no %q in /metrics, want it", i, want)
				}
			}
		})
	}
}

// pgProxy is a loopback TCP proxy to PostgreSQL that a test can cut and
// restore, to kill the store half-way through.
type pgProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	up    bool
	conns []net.Conn
	wg    sync.WaitGroup
}

func newPGProxy(t *testing.T, target string) *pgProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, up: true}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if !p.up {
				p.mu.Unlock()
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			p.wg.Go(func() { io.Copy(u, c); u.Close() })
			p.wg.Go(func() { io.Copy(c, u); c.Close() })
		}
	})
	t.Cleanup(func() { ln.Close(); p.set(false); p.wg.Wait() })
	return p
}

// set cuts (closing every connection) or restores the proxy.
func (p *pgProxy) set(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = up
	if !up {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// TestLedgerStoreKilledHalfway serves requests while PostgreSQL is cut
// half-way and restored: the store ends with exactly one record per
// request, none duplicated, and cached keys keep working meanwhile.
func TestLedgerStoreKilledHalfway(t *testing.T) {
	pgURL := storetest.PostgresURL(t)
	simURL := startSim(t, sim.DefaultConfig())
	proxy := newPGProxy(t, "127.0.0.1:5432")
	proxied := strings.Replace(pgURL, "127.0.0.1:5432", proxy.ln.Addr().String(), 1)
	dir := t.TempDir()
	extra := fmt.Sprintf("store: %s\nusage: {flush_interval: 20ms, batch_size: 7, spool_path: %s}\nadmin: {listen: 127.0.0.1:0, key: %s}\nauth: {key_cache_ttl: 50ms}\n",
		proxied, filepath.Join(dir, "u.spool"), canaryAdmin)
	s := startTenantStack(t, simURL, extra)
	k := s.newKey("acme", admin.KeyCreate{})
	stream := `{"model":"cheap","stream":true,"max_tokens":30,"messages":[{"role":"user","content":"hello"}]}`
	const n = 40
	served := map[string]bool{}
	for i := range n {
		if i == n/2 {
			proxy.set(false)
		}
		body := tenChatBody
		if i%4 == 0 {
			body = stream
		}
		code, b, h := chat(s.hc, s.base, k.Secret, body)
		if code != 200 {
			t.Fatalf("request %d: got %d %s, want 200 (a cached key works while the store is down)", i, code, b)
		}
		served[h.Get("X-Request-Id")] = true
	}
	// A client that disconnects mid-stream is billed once too.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", s.base+"/v1/chat/completions", strings.NewReader(stream))
	req.Header.Set("Authorization", "Bearer "+k.Secret)
	if resp, err := s.hc.Do(req); err == nil {
		buf := make([]byte, 10)
		resp.Body.Read(buf)
		cancel()
		resp.Body.Close()
	}
	cancel()
	proxy.set(true)
	st, err := open.Store(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clocktest.WaitFor(t, "all records in postgres", func() bool { return len(usageRecords(t, st)) >= n+1 })
	s.stop()
	recs := usageRecords(t, st)
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.RequestID] {
			t.Errorf("got request %s twice, want no duplicates", r.RequestID)
		}
		seen[r.RequestID] = true
	}
	if len(recs) != n+1 {
		t.Errorf("got %d records, want %d (one per request)", len(recs), n+1)
	}
	for id := range served {
		if !seen[id] {
			t.Errorf("got no record of served request %s, want one", id)
		}
	}
	st2 := s.ten.Recorder.(*promptLedger).Ledger.Stats()
	if st2.Enqueued != n+1 || st2.Dropped != 0 {
		t.Errorf("ledger: got %d enqueued, %d dropped; want %d and 0", st2.Enqueued, st2.Dropped, n+1)
	}
	if st2.Spooled+st2.Spilled == 0 || st2.Replayed == 0 {
		t.Errorf("ledger: got spooled %d, replayed %d; want both > 0 (the outage must have been exercised)", st2.Spooled+st2.Spilled, st2.Replayed)
	}
	if strings.Contains(s.logs.String(), k.Secret) || strings.Contains(s.logs.String(), canaryProvider) {
		t.Errorf("got a secret in the logs")
	}
}

var _ = errors.New

// TestAllowedRoutesLimitModelsAndExplain: a key limited to some routes sees
// only those in /v1/models and cannot have other routes explained (which
// would show their deployments and policies); an unlimited key sees all.
func TestAllowedRoutesLimitModelsAndExplain(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""))
	limited := s.newKey("acme", admin.KeyCreate{AllowedRoutes: []string{"cheap", "small"}})
	open := s.newKey("acme", admin.KeyCreate{})
	do := func(method, path, key, body string) (int, string) {
		req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	models := func(key string) []string {
		code, body := do("GET", "/v1/models", key, "")
		var out struct{ Data []struct{ ID string } }
		if code != 200 || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("models: got %d %s", code, body)
		}
		var ids []string
		for _, m := range out.Data {
			ids = append(ids, m.ID)
		}
		return ids
	}
	if got := models(limited.Secret); !slices.Equal(got, []string{"cheap", "small"}) {
		t.Errorf("limited key's models: got %v, want [cheap small]", got)
	}
	if got := models(open.Secret); len(got) < 4 || !slices.Contains(got, "auto") {
		t.Errorf("unlimited key's models: got %v, want every route and deployment", got)
	}
	if code, body := do("GET", "/v1/models/auto", limited.Secret, ""); code != http.StatusNotFound || !strings.Contains(body, "model_not_found") {
		t.Errorf("retrieve of a route the key may not use: got %d %s, want 404 model_not_found", code, body)
	}
	if code, body := do("GET", "/v1/models/cheap", limited.Secret, ""); code != http.StatusOK || !strings.Contains(body, `"id":"cheap"`) {
		t.Errorf("retrieve of an allowed route: got %d %s, want 200 with its id", code, body)
	}
	explain := `{"model":"%s","messages":[{"role":"user","content":"hi"}]}`
	if code, body := do("POST", "/v1/route/explain", limited.Secret, strings.Replace(explain, "%s", "auto", 1)); code != http.StatusForbidden || !strings.Contains(body, "route_not_allowed") || strings.Contains(body, "medium") {
		t.Errorf("explain of a route the key may not use: got %d %s, want 403 route_not_allowed without the plan", code, body)
	}
	if code, body := do("POST", "/v1/route/explain", limited.Secret, strings.Replace(explain, "%s", "cheap", 1)); code != http.StatusOK {
		t.Errorf("explain of an allowed route: got %d %s, want 200", code, body)
	}
}

// TestBudgetReservesEveryChoice: a request for n choices reserves n calls'
// worst case, so a budget with room for one call's turns away n of 3
// before any call is made, and admits n of 1.
func TestBudgetReservesEveryChoice(t *testing.T) {
	s := startTenantStack(t, startSim(t, sim.DefaultConfig()), sqliteExtra(t, ""))
	// As in TestBudgetRace: $0.006 holds one worst case of route cheap.
	k := s.newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{BudgetDailyUSD: 0.006}})
	code, b, _ := chat(s.hc, s.base, k.Secret, `{"model":"cheap","max_tokens":1000,"n":3,"messages":[{"role":"user","content":"hi"}]}`)
	if code != 429 || !strings.Contains(b, "budget_exceeded") {
		t.Errorf("n 3: got %d %s, want 429 budget_exceeded", code, b)
	}
	if code, b, _ := chat(s.hc, s.base, k.Secret, `{"model":"cheap","max_tokens":1000,"n":1,"messages":[{"role":"user","content":"hi"}]}`); code != 200 {
		t.Errorf("n 1: got %d %s, want 200", code, b)
	}
}
