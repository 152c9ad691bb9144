package metrics

import (
	"math"
	"testing"
	"time"
)

// within runs f and fails the test if it has not returned by the deadline
// (audit S2: NaN scores made the grouping loops spin forever, growing
// memory).
func within(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("did not return within %v", d)
	}
}

func TestTwoModelCurveNaNScoresRankLast(t *testing.T) {
	nan := math.NaN()
	score := []float64{nan, 1, nan, 0}
	qs := []float64{1, 1, 0, 1}
	qw := []float64{0, 0, 0, 1}
	var c []Point
	within(t, 2*time.Second, func() { c = TwoModelCurve(score, qs, qw) })
	// Order: prompt 1 (score 1), prompt 3 (0), then the NaN tie {0, 2}.
	want := []Point{{0, .25}, {.25, .5}, {.5, .5}, {1, .75}}
	if len(c) != len(want) {
		t.Fatalf("got %v, want %v", c, want)
	}
	for i := range want {
		if !near(c[i].X, want[i].X, 1e-12) || !near(c[i].Y, want[i].Y, 1e-12) {
			t.Fatalf("got %v, want %v", c, want)
		}
	}
	// All NaN: one tie, the straight line.
	within(t, 2*time.Second, func() { c = TwoModelCurve([]float64{nan, nan, nan}, qs[:3], qw[:3]) })
	if len(c) != 2 || c[1].X != 1 {
		t.Fatalf("all-NaN scores: got %v, want one step to share 1", c)
	}
}

func TestConcordanceNaN(t *testing.T) {
	nan := math.NaN()
	var c float64
	var ok bool
	// NaN scores rank lowest: the two y=0 items have scores NaN and 0, the
	// y=1 items 1 and 2, so every pair is ordered right.
	within(t, 2*time.Second, func() { c, ok = Concordance([]float64{nan, 0, 1, 2}, []float64{0, 0, 1, 1}) })
	if !ok || c != 1 {
		t.Errorf("NaN scores: got %v %v, want 1 true", c, ok)
	}
	// Items with a NaN y are left out.
	within(t, 2*time.Second, func() { c, ok = Concordance([]float64{5, 0, 1}, []float64{nan, 0, 1}) })
	if !ok || c != 1 {
		t.Errorf("NaN y: got %v %v, want 1 true", c, ok)
	}
	within(t, 2*time.Second, func() { c, ok = Concordance([]float64{nan, nan}, []float64{0, 1}) })
	if !ok || c != 0.5 {
		t.Errorf("all-NaN scores: got %v %v, want 0.5 true", c, ok)
	}
}
