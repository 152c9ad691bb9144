// Package telemetry holds the gateway's Prometheus metrics. Metrics live on a
// registry passed in by main, never on the global one.
package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the request-path metrics. Label values are route and
// deployment names from config and status classes; never keys or prompts.
type Metrics struct {
	Requests  *prometheus.CounterVec   // route, deployment, status
	Latency   *prometheus.HistogramVec // route, deployment
	TTFT      *prometheus.HistogramVec // route, deployment
	Attempts  *prometheus.CounterVec   // route, deployment, outcome
	Fallbacks *prometheus.CounterVec   // route
	Tokens    *prometheus.CounterVec   // route, deployment, direction
	// PromptCache counts the input tokens providers read from (kind
	// read) and wrote to (write) their prompt caches: part of Tokens'
	// input, counted apart so input is not counted twice.
	PromptCache *prometheus.CounterVec // route, deployment, kind
	CostUSD     *prometheus.CounterVec // route, deployment
	InFlight    prometheus.Gauge
	// Realtime counts open Realtime API sessions (also in InFlight).
	Realtime prometheus.Gauge
	// ResponsesSockets counts open Responses API WebSocket-mode
	// connections (also in InFlight); each response on one is a request.
	ResponsesSockets prometheus.Gauge
	ConfigLoad       *prometheus.CounterVec // result
	Cache            *prometheus.CounterVec // route, result
	Batches          *prometheus.CounterVec // status
	BatchLines       *prometheus.CounterVec // result

	series seriesCache // see Series
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	buckets := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_requests_total", Help: "Client requests by route, answering deployment and HTTP status.",
		}, []string{"route", "deployment", "status"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchyard_request_duration_seconds", Help: "Client request latency, end to end.", Buckets: buckets,
		}, []string{"route", "deployment"}),
		TTFT: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchyard_time_to_first_token_seconds", Help: "Time from request to the first streamed content.", Buckets: buckets,
		}, []string{"route", "deployment"}),
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_upstream_attempts_total", Help: "Upstream attempts by route, deployment and outcome (ok or error kind).",
		}, []string{"route", "deployment", "outcome"}),
		Fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_fallbacks_total", Help: "Requests answered by a deployment other than the plan's first.",
		}, []string{"route"}),
		Tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_tokens_total", Help: "Tokens by route, deployment and direction (input or output), side calls included, as the usage records count them; deployment=\"\" for tokens no deployment answered (a semantic hit's embedding).",
		}, []string{"route", "deployment", "direction"}),
		PromptCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_prompt_cache_tokens_total", Help: "Input tokens read from (kind read) or written to (kind write) providers' prompt caches, by route and deployment; part of switchyard_tokens_total's input.",
		}, []string{"route", "deployment", "kind"}),
		CostUSD: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_cost_usd_total", Help: "Cost in USD by route and deployment, side calls included, as the usage records count it; deployment=\"\" for spend no deployment answered (a semantic hit's embedding).",
		}, []string{"route", "deployment"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchyard_in_flight_requests", Help: "Client requests being served.",
		}),
		ResponsesSockets: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchyard_responses_websockets", Help: "Open Responses API WebSocket-mode connections.",
		}),
		Realtime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchyard_realtime_sessions", Help: "Open Realtime API sessions (WebSockets).",
		}),
		ConfigLoad: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_config_loads_total", Help: "Config loads and reloads by result (ok or error).",
		}, []string{"result"}),
		Cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_cache_total",
			Help: "Response cache events by route and result: hit, miss, bypass (no-store), stored, too_large, not_cacheable, error.",
		}, []string{"route", "result"}),
		Batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_batches_total", Help: "Batches finished, by final status: completed, failed, cancelled, expired.",
		}, []string{"status"}),
		BatchLines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_batch_lines_total", Help: "Batch lines answered, by result: ok (2xx), error (the answer is an error), refused (the batch's key no longer works).",
		}, []string{"result"}),
	}
	reg.MustRegister(m.Requests, m.Latency, m.TTFT, m.Attempts, m.Fallbacks, m.Tokens, m.PromptCache, m.CostUSD, m.InFlight, m.Realtime, m.ResponsesSockets, m.ConfigLoad, m.Cache, m.Batches, m.BatchLines)
	return m
}
