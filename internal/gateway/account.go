package gateway

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/reqid"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// accounted is the request's usage and cost so far: the answering
// deployment's, earlier cascade stages', and side calls' (classifier,
// judge, embedding).
func (x *exchange) accounted() (llm.Usage, float64) {
	cost, usage := x.priorCost, x.usage
	if x.rt != nil && x.trace != nil && x.trace.Deployment != "" {
		// Priced on the config the request ran on, even if a reload
		// changed prices or removed the deployment since.
		cost += x.rt.cost(x.trace.Deployment, usage)
	}
	usage = usage.Add(x.priorUsage)
	if x.side != nil {
		u, c := x.side.total()
		usage = usage.Add(u)
		cost += c
	}
	return usage, roundCost(cost)
}

// roundCost rounds a cost in USD to 1e-10, once, where the request's cost
// is summed: the usage record, the budget settle and HeaderCost all take
// this value, so a record says 0.00000705 as the header does, not the
// float sum 0.000007049999999999999.
func roundCost(usd float64) float64 { return math.Round(usd*1e10) / 1e10 }

// costHeader is a cost in USD for HeaderCost: plain decimal, rounded to
// 1e-10.
func costHeader(usd float64) string {
	return strconv.FormatFloat(roundCost(usd), 'f', -1, 64)
}

// addCount adds v to a counter when it is positive. A counter panics on a
// negative add ("counter cannot decrease in value"); adapters clamp what
// providers report (llm.Usage.Clamped), and this keeps any count or cost
// that still comes out negative (or NaN) from failing the request's
// accounting.
func addCount(c interface{ Add(float64) }, v float64) {
	if v > 0 {
		c.Add(v)
	}
}

// PromptRecorder keeps captured prompts (a Recorder may be one): it must
// not block.
type PromptRecorder interface {
	CapturePrompt(p store.CapturedPrompt)
}

// maxCapturedBytes bounds a captured prompt: a longer one keeps its first
// 4 KiB and its last 60 KiB (the question).
const maxCapturedBytes = 64 << 10

// capture keeps the routing text of x when it is a complete answer of a
// deployment (not a cache hit, not cut) on a route that captures prompts.
func (g *Gateway) capture(x *exchange, id, tenant, route, deployment string) {
	if x.status != http.StatusOK || x.partial || x.cacheHit || deployment == "" || route == "" || x.req == nil || x.req.LastUserText == "" {
		return
	}
	pr, ok := g.rec.(PromptRecorder)
	if !ok || x.rt == nil {
		return
	}
	if rc, ok := x.rt.cfg.Route(route); !ok || !rc.CapturePrompts {
		return
	}
	text := x.req.LastUserText
	if len(text) > maxCapturedBytes {
		head, tail := text[:4<<10], text[len(text)-(60<<10):]
		text = strings.ToValidUTF8(head, "") + "\n…\n" + strings.ToValidUTF8(tail, "")
	}
	pr.CapturePrompt(store.CapturedPrompt{RequestID: id, TenantID: tenant, Route: route, Text: text, Created: x.start})
}

// finish accounts for one client request: exactly one usage record, one log
// line and the metrics, none of which holds prompt text or keys; and, on a
// route that captures prompts, the captured prompt.
func (g *Gateway) finish(ctx context.Context, x *exchange) {
	end := g.now()
	latency := end.Sub(x.start)
	route := x.decision.Route
	if route != "" && !x.rt.names(route) {
		// The client's model string named nothing configured: it must
		// not become a metric label (unbounded cardinality) or a
		// stored route name.
		route = ""
	}
	deployment := ""
	if x.trace != nil {
		deployment = x.trace.Deployment
	}
	if x.status == 0 {
		x.status = statusClientClosed // the client went away before anything was decided
	}
	var cost float64
	own := x.usage // the answering call's alone, for its span
	x.usage, cost = x.accounted()
	stream := x.streamed || x.req != nil && x.req.Stream
	id := reqid.From(ctx)
	if x.adm != nil {
		x.adm.Settle(x.usage.InputTokens, x.usage.OutputTokens, cost)
	}
	var tenant, key string
	if x.who != nil {
		tenant, key = x.who.TenantID, x.who.KeyID
	}
	if g.rec != nil {
		// The record gets its own copy of the model: x.model is a view of
		// the upstream's bytes (a 4 kB block of stream frames, or the
		// whole body of an answer), which a record waiting in the
		// ledger's queue (up to 10,000) would otherwise keep alive.
		model := strings.Clone(x.model)
		rec := store.UsageRecord{
			RequestID:         id,
			Time:              x.start,
			TenantID:          tenant,
			KeyID:             key,
			Route:             route,
			Policy:            x.decision.Policy,
			Reason:            x.decision.Reason,
			Deployment:        deployment,
			Model:             model,
			Attempts:          attempts(x.trace),
			Status:            x.status,
			ErrorCode:         x.errKind,
			InputTokens:       x.usage.InputTokens,
			CachedInputTokens: x.usage.CachedInputTokens,
			CacheWriteTokens:  x.usage.CacheWriteTokens,
			OutputTokens:      x.usage.OutputTokens,
			TokensEstimated:   x.usage.Estimated,
			CostUSD:           cost,
			Latency:           latency,
			TTFT:              x.ttft,
			CacheHit:          x.cacheHit,
			Stream:            stream,
			Partial:           x.partial,
		}
		if d, ok := g.rec.(DurableRecorder); ok && ctx.Value(durableKey{}) != nil {
			d.Record(ctx, rec)
		} else {
			g.rec.Enqueue(rec)
		}
	}
	g.capture(x, id, tenant, route, deployment)
	if m := g.metrics; m != nil {
		// The usual series come from a Series, looked up once; the
		// others by their labels.
		s := m.Series(route, deployment)
		if x.status == http.StatusOK {
			s.RequestOK().Inc()
		} else {
			m.Requests.WithLabelValues(route, deployment, strconv.Itoa(x.status)).Inc()
		}
		s.Latency().Observe(latency.Seconds())
		if x.ttft > 0 {
			s.TTFT().Observe(x.ttft.Seconds())
		}
		if x.trace != nil {
			last := len(x.trace.Attempts) - 1
			for i := range x.trace.Attempts {
				a := &x.trace.Attempts[i]
				if outcome := attemptOutcome(x, a, i == last); outcome == "ok" && a.Deployment == deployment {
					s.AttemptOK().Inc()
				} else {
					m.Attempts.WithLabelValues(route, a.Deployment, outcome).Inc()
				}
			}
			// Answered by another deployment than the plan's first, the
			// first tried or skipped (an open circuit is a fallback too).
			if deployment != "" && len(x.trace.Attempts) > 0 && x.trace.Attempts[0].Deployment != deployment {
				m.Fallbacks.WithLabelValues(route).Inc()
			}
		}
		// Tokens and cost are counted under the labels of the usage
		// record, which holds them all (side calls, earlier cascade
		// stages), so the counters add up to the records: spend with no
		// answering deployment (a semantic hit's embedding, the side calls
		// of a request every deployment failed) under deployment="", as
		// its record has no deployment. Without a deployment, a series is
		// made only for spend, not for every refusal.
		if deployment != "" || x.usage.InputTokens > 0 || x.usage.OutputTokens > 0 || cost > 0 {
			addCount(s.InputTokens(), float64(x.usage.InputTokens))
			addCount(s.OutputTokens(), float64(x.usage.OutputTokens))
			if u := x.usage; u.CachedInputTokens > 0 || u.CacheWriteTokens > 0 {
				addCount(m.PromptCache.WithLabelValues(route, deployment, "read"), float64(u.CachedInputTokens))
				addCount(m.PromptCache.WithLabelValues(route, deployment, "write"), float64(u.CacheWriteTokens))
			}
			addCount(s.Cost(), cost)
		}
	}
	// A span that records nothing (tracing off, or not sampled) drops its
	// attributes: building them would cost a 1 kB slice a request.
	if x.span != nil && x.span.IsRecording() {
		x.span.SetAttributes(
			attribute.String("switchyard.request_id", id),
			attribute.String("switchyard.client_request_id", reqid.Client(ctx)),
			attribute.String("switchyard.route", route),
			attribute.String("switchyard.policy", x.decision.Policy),
			attribute.String("switchyard.deployment", deployment),
			attribute.String("switchyard.model", x.model),
			attribute.String("switchyard.tenant", tenant),
			attribute.Int("switchyard.attempts", attempts(x.trace)),
			attribute.Int("http.response.status_code", x.status),
			attribute.Bool("switchyard.stream", stream),
			attribute.Bool("switchyard.cache_hit", x.cacheHit),
			attribute.Bool("switchyard.partial", x.partial),
			attribute.Int("gen_ai.usage.input_tokens", x.usage.InputTokens),
			attribute.Int("gen_ai.usage.output_tokens", x.usage.OutputTokens),
			attribute.Float64("switchyard.cost_usd", cost),
		)
		if x.errKind != "" {
			x.span.SetAttributes(attribute.String("error.type", x.errKind))
		}
		if x.status >= 500 || x.partial {
			x.span.SetStatus(codes.Error, x.errKind)
		}
		g.attemptSpans(ctx, x, own, end)
	}
	if x.span != nil {
		x.span.End()
	}
	level := slog.LevelInfo
	if x.status >= 500 {
		level = slog.LevelWarn
	}
	if !g.log.Enabled(ctx, level) {
		return // the 25 attributes below are built only for a line written
	}
	g.log.LogAttrs(ctx, level, "request",
		slog.String("request_id", id),
		slog.String("client_request_id", reqid.Client(ctx)),
		slog.String("dialect", string(x.dialect.name)),
		slog.String("tenant", tenant),
		slog.String("key_id", key),
		slog.String("route", route),
		slog.String("policy", x.decision.Policy),
		slog.String("reason", x.decision.Reason),
		slog.String("arm", x.decision.Arm),
		slog.String("deployment", deployment),
		slog.String("model", x.model),
		slog.Int("attempts", attempts(x.trace)),
		slog.Int("status", x.status),
		slog.String("error", x.errKind),
		slog.Bool("stream", stream),
		slog.Bool("cache_hit", x.cacheHit),
		slog.Bool("partial", x.partial),
		slog.Float64("latency_ms", ms(latency)),
		slog.Float64("ttft_ms", ms(x.ttft)),
		slog.Int("input_tokens", x.usage.InputTokens),
		slog.Int("cached_input_tokens", x.usage.CachedInputTokens),
		slog.Int("cache_write_tokens", x.usage.CacheWriteTokens),
		slog.Int("output_tokens", x.usage.OutputTokens),
		slog.Bool("tokens_estimated", x.usage.Estimated),
		slog.Float64("cost_usd", cost),
	)
}

// names reports whether name is a route or deployment of rt's config; a
// nil rt names nothing.
func (rt *runtime) names(name string) bool {
	if rt == nil {
		return false
	}
	if _, ok := rt.cfg.Route(name); ok {
		return true
	}
	_, ok := rt.cfg.Deployment(name)
	return ok
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// attemptOutcome is how attempt a of x ended, as
// switchyard_upstream_attempts_total counts it and its span tells: "ok",
// "skipped_" and the skip reason, or its error kind; a call abandoned
// because the request's context ended is the request's error,
// client_cancelled (or shutdown), not a failure of the upstream's (the
// breaker ignores it too). last says a is the request's last attempt,
// which did not end well though it committed when x is a stream cut after
// its first token: partial, with the error that cut it (the upstream's,
// the client's leaving or the shutdown).
func attemptOutcome(x *exchange, a *executor.Attempt, last bool) string {
	if o := callOutcome(a, x.errKind == "shutdown"); o != "ok" {
		return o
	}
	if last && x.partial && x.errKind != "" {
		return x.errKind
	}
	return "ok"
}

// callOutcome is how one upstream call a ended by its own account: "ok",
// "skipped_" and the skip reason, its error kind, or, for a call abandoned
// because its context ended, client_cancelled (shutdown when the shutdown
// ended it).
func callOutcome(a *executor.Attempt, shutdown bool) string {
	switch {
	case a.Skipped != "":
		return "skipped_" + a.Skipped
	case a.Err != nil && executor.HTTPStatus(a.Err) == statusClientClosed:
		if shutdown {
			return "shutdown"
		}
		return "client_cancelled"
	case a.Err != nil:
		return a.Kind.String()
	}
	return "ok"
}

// attemptSpans records each upstream call of x as a client span under the
// request's, after the fact from the executor's trace, in OpenTelemetry's
// GenAI conventions: fail-overs show as sibling spans, the answering one
// with the usage. Skipped targets are events on the request's span.
// Nothing is recorded when tracing is off.
func (g *Gateway) attemptSpans(ctx context.Context, x *exchange, own llm.Usage, end time.Time) {
	if x.trace == nil || !x.span.IsRecording() {
		return
	}
	ctx = trace.ContextWithSpan(ctx, x.span)
	last := len(x.trace.Attempts) - 1
	n := 0 // calls made: switchyard.attempt counts as switchyard.attempts does
	for i := range x.trace.Attempts {
		a := &x.trace.Attempts[i]
		if a.Skipped != "" {
			x.span.AddEvent("target skipped", trace.WithTimestamp(a.Start),
				trace.WithAttributes(attribute.String("switchyard.deployment", a.Deployment), attribute.String("switchyard.skip_reason", a.Skipped)))
			continue
		}
		n++
		var model, system string
		if x.rt != nil {
			if d, ok := x.rt.deployments[a.Deployment]; ok {
				model, system = d.cfg.Model, d.genAIProvider
			}
		}
		_, span := g.tracer.Start(ctx, x.operation+" "+model, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(a.Start),
			trace.WithAttributes(
				attribute.String("gen_ai.operation.name", x.operation),
				attribute.String("gen_ai.provider.name", system),
				attribute.String("gen_ai.request.model", model),
				attribute.String("switchyard.deployment", a.Deployment),
				attribute.Int("switchyard.attempt", n),
			))
		if a.Status != 0 {
			span.SetAttributes(attribute.Int("http.response.status_code", a.Status))
		}
		stop := a.Start.Add(a.Duration)
		if outcome := attemptOutcome(x, a, i == last); outcome != "ok" {
			// A failed call, or the answering stream broken after its
			// first token: failed as its metric counts it.
			span.SetAttributes(attribute.String("error.type", outcome))
			span.SetStatus(codes.Error, outcome)
		}
		if a.Err == nil && i == last && a.Deployment == x.trace.Deployment {
			// The answering call, with its usage even when its stream
			// broke (what it sent is billed): a stream's lasts until the
			// request ends.
			if end.After(stop) {
				stop = end
			}
			span.SetAttributes(
				attribute.String("gen_ai.response.model", x.model),
				attribute.Int("gen_ai.usage.input_tokens", own.InputTokens),
				attribute.Int("gen_ai.usage.output_tokens", own.OutputTokens),
			)
		}
		span.End(trace.WithTimestamp(stop))
	}
}

// TraceRefusal records, as a span of its own named switchyard.refused, a
// request the server refused before any endpoint ran (405 for its method,
// 415 for a body in a content coding), which the server logs and the app
// accounts: every client request is one span (found by audit AH: these
// were the only requests without one). start is when the request came in.
func (g *Gateway) TraceRefusal(r *http.Request, status int, code string, start time.Time) {
	ctx := r.Context()
	_, span := g.tracer.Start(ctx, "switchyard.refused", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start))
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("switchyard.request_id", reqid.From(ctx)),
			attribute.String("switchyard.client_request_id", reqid.Client(ctx)),
			attribute.Int("http.response.status_code", status),
			attribute.String("error.type", code),
		)
	}
	span.End()
}
