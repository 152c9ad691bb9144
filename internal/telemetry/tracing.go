package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// DefaultRetireAfter is how long a tracer replaced by a reload keeps
// exporting, so the spans of requests that started before the reload still
// reach the collector they started with.
const DefaultRetireAfter = 2 * time.Minute

// Tracing is the tracer the gateway records request spans with. It follows
// the telemetry config: Apply rebuilds the exporter when the section
// changes, and spans started afterwards go to the new one. With no OTLP
// endpoint it is a no-op and costs nothing but an atomic load per span.
// It is safe for concurrent use.
type Tracing struct {
	embedded.Tracer

	// RetireAfter is how long a replaced exporter keeps running before it
	// is flushed and shut down; DefaultRetireAfter unless set before the
	// first Apply.
	RetireAfter time.Duration

	cur atomic.Pointer[tracer]

	mu      sync.Mutex // serialises Apply and Shutdown; guards retired and closed
	retired map[*tracer]*time.Timer
	closed  bool
	sent    []string // every exporter's header values, for LogErrors
}

// tracer is one exporter pipeline and the config it was built from.
type tracer struct {
	key      string
	t        trace.Tracer
	shutdown func(context.Context) error
	// secrets are the header values it sends (a collector's API key),
	// kept out of the errors it reports.
	secrets []string
}

// NewTracing builds the tracer for cfg.
func NewTracing(ctx context.Context, cfg config.Telemetry) (*Tracing, error) {
	tr, err := build(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t := &Tracing{RetireAfter: DefaultRetireAfter, retired: map[*tracer]*time.Timer{}}
	t.cur.Store(tr)
	t.remember(tr)
	return t, nil
}

// Start starts a span with the current exporter (trace.Tracer).
func (t *Tracing) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return t.cur.Load().t.Start(ctx, name, opts...)
}

// Apply switches to cfg. When the section is unchanged it does nothing and
// reports false. Otherwise new spans go to a new exporter at once and the
// old one is flushed and shut down RetireAfter later (or by Shutdown). On
// an error the current tracer stays.
func (t *Tracing) Apply(ctx context.Context, cfg config.Telemetry) (changed bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false, errors.New("telemetry: tracing is shut down")
	}
	old := t.cur.Load()
	if keyOf(cfg) == old.key {
		return false, nil
	}
	tr, err := build(ctx, cfg)
	if err != nil {
		return false, err
	}
	t.cur.Store(tr)
	t.remember(tr)
	t.retired[old] = time.AfterFunc(t.RetireAfter, func() { t.retire(old) })
	return true, nil
}

// retire flushes and stops a replaced exporter, unless Shutdown already did.
func (t *Tracing) retire(old *tracer) {
	t.mu.Lock()
	_, ok := t.retired[old]
	delete(t.retired, old)
	t.mu.Unlock()
	if ok {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = old.shutdown(ctx) // best effort: the exporter logs its own failures through otel
	}
}

// Shutdown flushes and stops the current exporter and every replaced one
// still running. Spans started afterwards are dropped.
func (t *Tracing) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	all := []*tracer{t.cur.Load()}
	for old, timer := range t.retired {
		timer.Stop()
		all = append(all, old)
	}
	clear(t.retired)
	t.cur.Store(&tracer{t: noop.NewTracerProvider().Tracer("switchyard"), shutdown: noShutdown})
	t.mu.Unlock()
	var errs []error
	for _, tr := range all {
		errs = append(errs, tr.shutdown(ctx))
	}
	return errors.Join(errs...)
}

func noShutdown(context.Context) error { return nil }

// build makes the exporter pipeline for cfg: a no-op tracer when no OTLP
// endpoint is set.
func build(ctx context.Context, cfg config.Telemetry) (*tracer, error) {
	key := keyOf(cfg)
	if cfg.OTLPEndpoint == "" {
		return &tracer{key: key, t: noop.NewTracerProvider().Tracer("switchyard"), shutdown: noShutdown}, nil
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(cfg.OTLPEndpoint)}
	var secrets []string
	if len(cfg.Headers) > 0 {
		h := make(map[string]string, len(cfg.Headers))
		for k, v := range cfg.Headers {
			h[k] = v.Value()
		}
		opts = append(opts, otlptracehttp.WithHeaders(h))
		// Redacted as a provider's headers are: each value, and the
		// token of an "Authorization: Bearer <token>", which a collector
		// may quote alone.
		secrets = provider.SecretsOf(provider.Config{Headers: h})
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("telemetry: otlp exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.Ratio()))),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", cfg.Service()))),
	)
	return &tracer{key: key, t: tp.Tracer("switchyard"), shutdown: tp.Shutdown, secrets: secrets}, nil
}

// LogErrors sends the OpenTelemetry SDK's own errors (an export the
// collector refused or could not take) to log as JSON lines, with every
// telemetry header value configured so far redacted;
// otherwise the SDK prints them on stderr as plain text, collector
// answers that echo the request's headers included. It sets the process's
// global OpenTelemetry error handler.
func (t *Tracing) LogErrors(log *slog.Logger) {
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing export failed", "err", t.secrets().Redact(err.Error()))
	}))
}

// secrets are the header values of every exporter built so far: one
// being shut down still reports its last export's errors.
func (t *Tracing) secrets() provider.Secrets {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := slices.Clone(t.sent)
	// Longest first, so that one holding another is replaced whole.
	slices.SortStableFunc(s, func(a, b string) int { return len(b) - len(a) })
	return s
}

// remember adds tr's header values to those redacted; t.mu is held.
func (t *Tracing) remember(tr *tracer) {
	for _, s := range tr.secrets {
		if !slices.Contains(t.sent, s) {
			t.sent = append(t.sent, s)
		}
	}
}

// keyOf identifies what build makes of cfg: equal keys, equal pipelines.
// It holds header values, so it stays in memory and is never logged.
func keyOf(cfg config.Telemetry) string {
	if cfg.OTLPEndpoint == "" {
		return ""
	}
	var b strings.Builder
	for _, s := range []string{cfg.OTLPEndpoint, cfg.Service(), strconv.FormatFloat(cfg.Ratio(), 'g', -1, 64)} {
		b.WriteString(strconv.Quote(s))
	}
	names := make([]string, 0, len(cfg.Headers))
	for k := range cfg.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		b.WriteString(strconv.Quote(k) + strconv.Quote(cfg.Headers[k].Value()))
	}
	return b.String()
}
