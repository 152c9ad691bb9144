package gateway

import (
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestAddCountNeverDecreases: a negative (or NaN) usage count or cost is
// not added to a metric counter, which would panic the request's
// accounting ("counter cannot decrease in value").
func TestAddCountNeverDecreases(t *testing.T) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "t_total", Help: "t"})
	for _, v := range []float64{5, -1e6, math.NaN(), 0, 2.5} {
		addCount(c, v)
	}
	if got := testutil.ToFloat64(c); got != 7.5 {
		t.Errorf("got counter %v, want 7.5", got)
	}
}
