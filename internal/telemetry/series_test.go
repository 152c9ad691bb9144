package telemetry

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A Series counts into the same children as WithLabelValues, and creates
// each only when it is first used.
func TestSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	s := m.Series("auto", "bench")
	if m.Series("auto", "bench") != s {
		t.Fatal("a second look-up made a second Series")
	}
	if n := testutil.CollectAndCount(m.TTFT); n != 0 {
		t.Fatalf("TTFT has %d series before any use, want 0", n)
	}
	s.RequestOK().Inc()
	m.Requests.WithLabelValues("auto", "bench", "200").Inc()
	s.InputTokens().Add(3)
	if got := testutil.ToFloat64(m.Requests.WithLabelValues("auto", "bench", "200")); got != 2 {
		t.Errorf("requests{200} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.Tokens.WithLabelValues("auto", "bench", "input")); got != 3 {
		t.Errorf("tokens{input} = %v, want 3", got)
	}
	if n := testutil.CollectAndCount(m.Tokens); n != 1 {
		t.Errorf("tokens has %d series, want 1 (output never used)", n)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(""), "switchyard_time_to_first_token_seconds"); err != nil {
		t.Errorf("TTFT exported before use: %v", err)
	}
}

func BenchmarkSeries(b *testing.B) {
	m := NewMetrics(prometheus.NewRegistry())
	b.Run("WithLabelValues", func(b *testing.B) {
		for b.Loop() {
			m.Requests.WithLabelValues("auto", "bench", "200").Inc()
			m.Latency.WithLabelValues("auto", "bench").Observe(0.001)
			m.TTFT.WithLabelValues("auto", "bench").Observe(0.001)
			m.Attempts.WithLabelValues("auto", "bench", "ok").Inc()
			m.Tokens.WithLabelValues("auto", "bench", "input").Add(8)
			m.Tokens.WithLabelValues("auto", "bench", "output").Add(16)
			m.CostUSD.WithLabelValues("auto", "bench").Add(0.0001)
		}
	})
	b.Run("Series", func(b *testing.B) {
		for b.Loop() {
			s := m.Series("auto", "bench")
			s.RequestOK().Inc()
			s.Latency().Observe(0.001)
			s.TTFT().Observe(0.001)
			s.AttemptOK().Inc()
			s.InputTokens().Add(8)
			s.OutputTokens().Add(16)
			s.Cost().Add(0.0001)
		}
	})
}
