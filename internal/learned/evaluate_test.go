package learned

import (
	"math"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/learned/dataset"
	"github.com/switchyard-gw/switchyard/internal/learned/metrics"
)

// The difficulty ceiling ranks first the prompts of middling difficulty,
// where the other models split: there the weak model tends to fail and the
// strong one to succeed. Prompts every other model answers, or none does,
// come last.
func TestDifficultyCeiling(t *testing.T) {
	nan := math.NaN()
	// Columns: strong, weak, two others. Rows: easy (all right), middling
	// (the others split; strong right, weak wrong), hard (all wrong), and a
	// middling one with a third model missing.
	s := &dataset.Set{Models: []string{"strong", "weak", "o1", "o2", "o3"}, Quality: [][]float64{
		{1, 1, 1, 1, 1},
		{1, 0, 1, 0, 1},
		{0, 0, 0, 0, 0},
		{1, 0, 0, 1, nan},
		{1, 1, 1, 1, 1},
		{0, 0, 0, 0, 0},
	}}
	rows := []int{0, 1, 2, 3, 4, 5}
	score := difficultyCeiling(s, rows, 0, 1)
	if score == nil {
		t.Fatal("got no ceiling, want one: every row has at least two other models")
	}
	for _, mid := range []int{1, 3} {
		for _, end := range []int{0, 2, 4, 5} {
			if score[mid] <= score[end] {
				t.Errorf("score of middling row %d = %.3f, want above row %d's %.3f", mid, score[mid], end, score[end])
			}
		}
	}
	qs, qw := make([]float64, len(rows)), make([]float64, len(rows))
	for k, i := range rows {
		qs[k], qw[k] = s.Quality[i][0], s.Quality[i][1]
	}
	// The two middling rows are exactly the strong model's gains, so the
	// ceiling sends them first: PGR 1 from share 2/6 on, APGR 1 − 1/6.
	if got := metrics.APGR(metrics.TwoModelCurve(score, qs, qw)); math.Abs(got-5.0/6) > 1e-9 {
		t.Errorf("ceiling APGR: got %v, want %v", got, 5.0/6)
	}

	// With one other model a prompt's difficulty is not measured.
	few := &dataset.Set{Models: []string{"strong", "weak", "o1"}, Quality: [][]float64{{1, 0, 1}, {1, 1, 0}}}
	if got := difficultyCeiling(few, []int{0, 1}, 0, 1); got != nil {
		t.Errorf("three models: got %v, want no ceiling", got)
	}
}
