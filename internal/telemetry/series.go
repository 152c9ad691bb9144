package telemetry

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Series are the request metrics' children for one route and deployment,
// as every request's accounting reads them: WithLabelValues hashes its
// labels and takes a lock on each call (about 100 ns, seven times a
// request), a Series is looked up once and keeps what it resolved. Each
// child is resolved on first use, as WithLabelValues would create it then:
// a series appears on /metrics when it is first counted, as before.
type Series struct {
	m             *Metrics
	route, dep    string
	ok            lazy[prometheus.Counter]  // Requests with status 200
	latency, ttft lazy[prometheus.Observer] // Latency, TTFT
	attemptOK     lazy[prometheus.Counter]  // Attempts with outcome ok
	input, output lazy[prometheus.Counter]  // Tokens
	cost          lazy[prometheus.Counter]  // CostUSD
}

// lazy is a child resolved once.
type lazy[T any] struct {
	once sync.Once
	v    T
}

func (l *lazy[T]) get(resolve func() T) T {
	l.once.Do(func() { l.v = resolve() })
	return l.v
}

// seriesKey names a Series: route and deployment label values.
type seriesKey struct{ route, dep string }

// seriesCache holds the Series made so far. Its keys are config names (the
// gateway never labels with a client's string), so it stays as small as
// the configs the process has run.
type seriesCache struct {
	mu sync.RWMutex
	m  map[seriesKey]*Series
}

// Series returns the Series of route and deployment.
func (m *Metrics) Series(route, deployment string) *Series {
	k := seriesKey{route, deployment}
	m.series.mu.RLock()
	s := m.series.m[k]
	m.series.mu.RUnlock()
	if s != nil {
		return s
	}
	m.series.mu.Lock()
	defer m.series.mu.Unlock()
	if s = m.series.m[k]; s == nil {
		if m.series.m == nil {
			m.series.m = make(map[seriesKey]*Series)
		}
		s = &Series{m: m, route: route, dep: deployment}
		m.series.m[k] = s
	}
	return s
}

// RequestOK is Requests{route, deployment, status="200"}.
func (s *Series) RequestOK() prometheus.Counter {
	return s.ok.get(func() prometheus.Counter { return s.m.Requests.WithLabelValues(s.route, s.dep, "200") })
}

// Latency is Latency{route, deployment}.
func (s *Series) Latency() prometheus.Observer {
	return s.latency.get(func() prometheus.Observer { return s.m.Latency.WithLabelValues(s.route, s.dep) })
}

// TTFT is TTFT{route, deployment}.
func (s *Series) TTFT() prometheus.Observer {
	return s.ttft.get(func() prometheus.Observer { return s.m.TTFT.WithLabelValues(s.route, s.dep) })
}

// AttemptOK is Attempts{route, deployment, outcome="ok"}.
func (s *Series) AttemptOK() prometheus.Counter {
	return s.attemptOK.get(func() prometheus.Counter { return s.m.Attempts.WithLabelValues(s.route, s.dep, "ok") })
}

// InputTokens is Tokens{route, deployment, direction="input"}.
func (s *Series) InputTokens() prometheus.Counter {
	return s.input.get(func() prometheus.Counter { return s.m.Tokens.WithLabelValues(s.route, s.dep, "input") })
}

// OutputTokens is Tokens{route, deployment, direction="output"}.
func (s *Series) OutputTokens() prometheus.Counter {
	return s.output.get(func() prometheus.Counter { return s.m.Tokens.WithLabelValues(s.route, s.dep, "output") })
}

// Cost is CostUSD{route, deployment}.
func (s *Series) Cost() prometheus.Counter {
	return s.cost.get(func() prometheus.Counter { return s.m.CostUSD.WithLabelValues(s.route, s.dep) })
}
