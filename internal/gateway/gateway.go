// Package gateway is the request path of Switchyard: the ordered steps that
// turn a client request into upstream attempts and a response (parse,
// authenticate, route, execute, respond, account). The server package mounts
// its Handler; main builds it and applies each config version to it.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/anthropic"
	"github.com/switchyard-gw/switchyard/internal/provider/bedrock"
	"github.com/switchyard-gw/switchyard/internal/provider/openai"
	"github.com/switchyard-gw/switchyard/internal/router"
	"github.com/switchyard-gw/switchyard/internal/telemetry"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// Options wire the gateway's collaborators; main provides them.
type Options struct {
	Logger   *slog.Logger
	Metrics  *telemetry.Metrics
	Executor *executor.Executor
	// Recorder receives one usage record per client request; optional.
	Recorder Recorder
	// Guard authenticates and admits requests; nil checks the config's
	// static API keys and enforces no limits.
	Guard Guard
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Tracer records one span per client request; default a no-op tracer.
	Tracer trace.Tracer
	// Cache is the response cache's store; nil, or cache.backend off in
	// the config, turns the cache off.
	Cache cache.Store
	// Semantic is this replica's index for the semantic cache lookup;
	// nil turns that lookup off.
	Semantic *cache.Semantic
	// Affinity remembers which deployment made each Responses API
	// response (shared by replicas when it is Redis); default a 16 MiB
	// in-memory store.
	Affinity cache.Store
}

// Gateway serves the LLM API endpoints. Safe for concurrent use; Apply swaps
// the config atomically while requests are in flight.
type Gateway struct {
	log      *slog.Logger
	metrics  *telemetry.Metrics
	exec     *executor.Executor
	rec      Recorder
	guard    Guard
	now      func() time.Time
	tokens   *tokens.Counter
	tracer   trace.Tracer
	cache    cache.Store
	semantic *cache.Semantic
	affinity cache.Store
	sessions *sessions // Realtime API sessions in progress
	// wsKept is what every Responses WebSocket-mode connection keeps of
	// its store-false responses, in bytes (bounded by maxWSKeptTotal).
	wsKept atomic.Int64
	// wsQueued is the bytes of the responses every such connection has
	// queued and not yet run (at most maxWSQueuedTotal).
	wsQueued atomic.Int64
	// secretKey signs client secrets when the config sets no key.
	secretKey [32]byte
	rt        atomic.Pointer[runtime]
	// stores are the cache writes in flight, each bounded by
	// cacheStoreTimeout; Close waits for them.
	stores sync.WaitGroup
	// flights are the cache misses upstream that identical requests
	// wait for.
	flights flights
}

// runtime is everything built from one config version.
type runtime struct {
	cfg         *config.Config
	router      *router.Router
	deployments map[string]*deployment
	guard       Guard
	transports  []*http.Transport
}

// deployment is a config deployment with its live provider client.
type deployment struct {
	cfg    *config.Deployment
	prov   provider.Provider
	target executor.Target
	// genAIProvider names the provider kind in OpenTelemetry's GenAI
	// conventions (gen_ai.provider.name).
	genAIProvider string
}

// New returns a gateway with no config; Apply one before serving.
func New(opts Options) *Gateway {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tracer == nil {
		opts.Tracer = noop.NewTracerProvider().Tracer("switchyard")
	}
	if opts.Affinity == nil {
		opts.Affinity = cache.NewMemory(16<<20, opts.Now)
	}
	g := &Gateway{log: opts.Logger, metrics: opts.Metrics, exec: opts.Executor, rec: opts.Recorder, guard: opts.Guard, now: opts.Now, tokens: tokens.NewCounter(), tracer: opts.Tracer, cache: opts.Cache, semantic: opts.Semantic, affinity: opts.Affinity, sessions: newSessions()}
	_, _ = rand.Read(g.secretKey[:]) // crypto/rand never fails
	return g
}

// ErrShuttingDown is the cause a shutting-down server cancels the requests
// still running with (server.Options.AbortCause): a stream then ends with
// an in-band error saying so, rather than a dropped connection, and is
// recorded as partial with the error "shutdown".
var ErrShuttingDown = errors.New("the gateway is shutting down")

// Ready reports whether a config has been applied.
func (g *Gateway) Ready() bool { return g.rt.Load() != nil }

// Config returns the config in force, or nil.
func (g *Gateway) Config() *config.Config {
	if rt := g.rt.Load(); rt != nil {
		return rt.cfg
	}
	return nil
}

// Apply builds provider clients for cfg (which must be valid) and swaps it in.
// Requests in flight finish on the config they started with.
func (g *Gateway) Apply(cfg *config.Config) error {
	rt, err := g.build(cfg)
	if err != nil {
		return err
	}
	if g.guard != nil {
		rt.guard = g.guard
	}
	if g.exec != nil {
		g.exec.SetOptions(ExecutorOptions(cfg))
	}
	old := g.rt.Swap(rt)
	if old != nil {
		for _, t := range old.transports {
			t.CloseIdleConnections()
		}
	}
	return nil
}

// Check reports whether Apply would take cfg (which must be valid):
// what config validation cannot see, such as a learned route's router
// file that does not load. No connection is made.
func Check(cfg *config.Config) error {
	rt, err := New(Options{}).build(cfg)
	if err != nil {
		return err
	}
	for _, t := range rt.transports {
		t.CloseIdleConnections()
	}
	return nil
}

// Close releases the upstream connections kept idle for reuse; call it
// after the server has drained.
func (g *Gateway) Close() {
	g.stores.Wait()
	if rt := g.rt.Load(); rt != nil {
		for _, t := range rt.transports {
			t.CloseIdleConnections()
		}
	}
}

// ExecutorOptions maps the config's executor section to executor options.
func ExecutorOptions(cfg *config.Config) executor.Options {
	e := cfg.Executor
	return executor.Options{
		MaxAttempts:          e.MaxAttempts,
		RetriesPerDeployment: e.RetriesPerDeployment,
		BackoffBase:          e.BackoffBase.D(),
		BackoffMax:           e.BackoffMax.D(),
		MaxRetryAfter:        e.MaxRetryAfter.D(),
		Deadline:             e.Deadline.D(),
		BreakerThreshold:     e.Breaker.FailureThreshold,
		BreakerOpenFor:       e.Breaker.OpenFor.D(),
	}
}

func (g *Gateway) build(cfg *config.Config) (*runtime, error) {
	ropts := router.Options{Call: g.callDeployment, Embed: g.embedText, Tokens: g.tokens, Now: g.now}
	if g.exec != nil {
		ropts.Health = g.exec.Health
	}
	rtr, err := router.New(cfg, ropts)
	if err != nil {
		return nil, err
	}
	rt := &runtime{
		cfg:         cfg,
		router:      rtr,
		deployments: make(map[string]*deployment, len(cfg.Deployments)),
	}
	keys := make([]string, 0, len(cfg.Server.APIKeys)+1)
	for _, k := range cfg.Server.APIKeys {
		keys = append(keys, k.Value())
	}
	keys = append(keys, cfg.Server.MasterKey.Value())
	rt.guard = staticGuard{keys: auth.NewStatic(keys...)}

	clients := make(map[string]*http.Client, len(cfg.Providers))
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		tr := newTransport(p.ConnectTimeout.D())
		rt.transports = append(rt.transports, tr)
		clients[p.Name] = &http.Client{Transport: tr, CheckRedirect: noRedirects}
	}
	for i := range cfg.Deployments {
		d := &cfg.Deployments[i]
		p, ok := cfg.Provider(d.Provider)
		if !ok {
			return nil, fmt.Errorf("gateway: deployment %q: unknown provider %q", d.Name, d.Provider)
		}
		pc := provider.Config{
			BaseURL:    p.BaseURL,
			APIKey:     p.APIKey.Value(),
			Model:      d.Model,
			APIVersion: p.APIVersion,
			HTTPClient: clients[p.Name],
			// Sent as max_tokens to an API that requires one when
			// the client set none: the model's whole output limit.
			MaxOutputTokens:   d.MaxOutputTokens,
			ContextWindow:     d.ContextWindow,
			Reasoning:         d.Capabilities.Has(config.CapReasoning),
			CacheSystemPrompt: d.PromptCache == config.PromptCacheSystem,
		}
		if len(p.Headers) > 0 {
			pc.Headers = make(map[string]string, len(p.Headers))
			for k, v := range p.Headers {
				pc.Headers[k] = v.Value()
			}
		}
		var prov provider.Provider
		var genAI string
		switch p.Kind {
		case config.KindAnthropic:
			prov, genAI = anthropic.New(pc), "anthropic"
		case config.KindBedrock:
			pc.Region = p.Region
			pc.AWSAccessKeyID, pc.AWSSecretAccessKey, pc.AWSSessionToken = p.AWSAccessKeyID.Value(), p.AWSSecretAccessKey.Value(), p.AWSSessionToken.Value()
			if g := d.Guardrail; g != nil {
				pc.GuardrailID, pc.GuardrailVersion = g.ID, g.Version
			}
			pc.Latency = d.Latency
			prov, genAI = bedrock.New(pc), "aws.bedrock"
		case config.KindAzure:
			pc.Azure = true
			prov, genAI = openai.New(pc), "azure.ai.openai"
		case config.KindOpenAI:
			prov, genAI = openai.New(pc), "openai"
		default:
			return nil, fmt.Errorf("gateway: provider %q: unsupported kind %q", p.Name, p.Kind)
		}
		rt.deployments[d.Name] = &deployment{
			cfg:           d,
			prov:          prov,
			genAIProvider: genAI,
			target: executor.Target{
				Deployment:        d.Name,
				Provider:          prov,
				ContextWindow:     d.ContextWindow,
				MaxOutputTokens:   d.MaxOutputTokens,
				Timeout:           d.Timeout.D(),
				FirstTokenTimeout: d.FirstTokenTimeout.D(),
				IdleTimeout:       d.IdleTimeout.D(),
			},
		}
	}
	return rt, nil
}

// timeoutContext bounds a call to d made outside the executor (a kept
// object's endpoints) by d's timeout, when it has one.
func (d *deployment) timeoutContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if t := d.cfg.Timeout.D(); t > 0 {
		return context.WithTimeout(ctx, t)
	}
	return ctx, func() {}
}

// noRedirects makes an upstream redirect the response itself (a failure
// the executor fails over from) rather than a request the gateway follows:
// following one would resend the prompt, and credential headers such as
// x-api-key and api-key that net/http keeps across hosts, to wherever the
// redirect points.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// newTransport returns a pooled upstream transport. Only the connect timeout
// is set here: time to first token and idle gaps are the executor's.
func newTransport(connect time.Duration) *http.Transport {
	if connect <= 0 {
		connect = 5 * time.Second
	}
	d := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   connect,
		ExpectContinueTimeout: time.Second,
	}
}

// callDeployment sends req to one deployment through the executor; routing
// policies use it for classifier and judge calls.
func (g *Gateway) callDeployment(ctx context.Context, name string, req *llm.Request) (*llm.Response, error) {
	rt, d, err := g.sideDeployment(name)
	if err != nil {
		return nil, err
	}
	input := tokens.Input(req)
	// SkipOpen: an open circuit fails the call at once (the policy then
	// does what it does when its call fails) rather than calling a
	// deployment the breaker gave up on for every request (found by
	// audit AV, AV1).
	resp, tr, err := g.exec.Chat(ctx, &executor.Plan{Route: name, Targets: []executor.Target{d.target}, SkipOpen: true}, req, input)
	var u llm.Usage
	if err == nil {
		u = usageOf(resp, input)
		addSideCall(ctx, rt, name, u)
	}
	g.sideAttempts(ctx, "chat", d, tr, u)
	return resp, err
}

// sideAttempts records the upstream calls of a call a routing policy or
// the semantic cache makes for a request (a classifier, a judge, an
// embedding), from the executor's trace tr, as a request's are: each call
// a client span under the request's span, with switchyard.side_call: true
// (the answering one with the usage u), and each counted in
// switchyard_upstream_attempts_total under route = the deployment called,
// as a request naming it would be (found by audit AH: a side call was one
// span whatever its tries, and counted nowhere, so a deployment failing
// every side call showed only as slower requests).
func (g *Gateway) sideAttempts(ctx context.Context, op string, d *deployment, tr *executor.Trace, u llm.Usage) {
	if tr == nil {
		return
	}
	n := 0
	shutdown := errors.Is(context.Cause(ctx), ErrShuttingDown)
	for i := range tr.Attempts {
		a := &tr.Attempts[i]
		outcome := callOutcome(a, shutdown)
		if g.metrics != nil {
			g.metrics.Attempts.WithLabelValues(d.cfg.Name, a.Deployment, outcome).Inc()
		}
		if a.Skipped != "" {
			continue
		}
		n++
		_, span := g.tracer.Start(ctx, op+" "+d.cfg.Model, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(a.Start))
		if span.IsRecording() {
			span.SetAttributes(
				attribute.String("gen_ai.operation.name", op),
				attribute.String("gen_ai.provider.name", d.genAIProvider),
				attribute.String("gen_ai.request.model", d.cfg.Model),
				attribute.String("switchyard.deployment", d.cfg.Name),
				attribute.Bool("switchyard.side_call", true),
				attribute.Int("switchyard.attempt", n),
			)
			if a.Status != 0 {
				span.SetAttributes(attribute.Int("http.response.status_code", a.Status))
			}
			if outcome != "ok" {
				span.SetAttributes(attribute.String("error.type", outcome))
				span.SetStatus(codes.Error, outcome)
			} else if a.Deployment == tr.Deployment {
				span.SetAttributes(attribute.Int("gen_ai.usage.input_tokens", u.InputTokens), attribute.Int("gen_ai.usage.output_tokens", u.OutputTokens))
			}
		}
		span.End(trace.WithTimestamp(a.Start.Add(a.Duration)))
	}
}

// sideDeployment is the config in force and the named deployment, for a
// call a routing policy makes.
func (g *Gateway) sideDeployment(name string) (*runtime, *deployment, error) {
	rt := g.rt.Load()
	if rt == nil {
		return nil, nil, errors.New("gateway: no configuration loaded")
	}
	d, ok := rt.deployments[name]
	if !ok {
		return nil, nil, fmt.Errorf("gateway: unknown deployment %q", name)
	}
	return rt, d, nil
}

// addSideCall adds a routing call's usage and cost to the request's.
func addSideCall(ctx context.Context, rt *runtime, name string, u llm.Usage) {
	if side, ok := ctx.Value(sideCallsKey{}).(*sideCalls); ok {
		side.add(u, rt.cost(name, u))
	}
}

// embedText embeds text with one deployment for a learned route's
// decision, through the executor (its timeout, the deadline, its circuit);
// like the classifier's call, its usage and cost are added to the
// request's.
func (g *Gateway) embedText(ctx context.Context, name, text string) ([]float32, error) {
	rt, d, err := g.sideDeployment(name)
	if err != nil {
		return nil, err
	}
	if _, ok := d.prov.(provider.Embedder); !ok {
		return nil, fmt.Errorf("gateway: deployment %q does not serve embeddings", name)
	}
	raw, err := json.Marshal(struct {
		Model string `json:"model"`
		Input string `json:"input"`
	}{name, text})
	if err != nil {
		return nil, err
	}
	plan := &executor.Plan{Route: name, Targets: []executor.Target{d.target}, SkipOpen: true} // as callDeployment's
	resp, tr, err := g.exec.Embed(ctx, plan, &llm.EmbedRequest{Model: name, InputBytes: len(text), Inputs: 1, Raw: raw}, tokens.FromBytes(len(text)))
	if err != nil {
		g.sideAttempts(ctx, "embeddings", d, tr, llm.Usage{})
		return nil, err
	}
	u := resp.Usage
	if u.InputTokens == 0 {
		u = llm.Usage{InputTokens: tokens.FromBytes(len(text)), Estimated: true}
	}
	addSideCall(ctx, rt, name, u)
	g.sideAttempts(ctx, "embeddings", d, tr, u)
	vec := gjson.GetBytes(resp.Raw, "data.0.embedding")
	if !vec.IsArray() {
		return nil, errors.New("gateway: embeddings response without data[0].embedding")
	}
	arr := vec.Array()
	out := make([]float32, len(arr))
	for i, v := range arr {
		out[i] = float32(v.Float())
	}
	return out, nil
}

// sideCalls accumulates what a request's routing calls (a classifier, a
// cascade judge) cost, so the request's usage record and budget include them.
type sideCalls struct {
	mu    sync.Mutex
	usage llm.Usage
	cost  float64
}

type sideCallsKey struct{}

func (s *sideCalls) add(u llm.Usage, cost float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usage = s.usage.Add(u)
	s.cost += cost
}

func (s *sideCalls) total() (llm.Usage, float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage, s.cost
}
