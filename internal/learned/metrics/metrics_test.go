package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b, eps float64) bool { return math.Abs(a-b) <= eps }

func TestTwoModelCurveOracle(t *testing.T) {
	// 4 prompts: strong/weak correctness (1,0) (1,1) (0,0) (0,1).
	// q_weak = 0.5, q_strong = 0.5?  Use a fixture with a real gap instead:
	// (1,0) (1,0) (1,1) (0,0): q_s = 0.75, q_w = 0.25, gap 0.5.
	qs := []float64{1, 1, 1, 0}
	qw := []float64{0, 0, 1, 0}
	oracle := []float64{1, 1, 0, 0} // strong - weak
	c := TwoModelCurve(oracle, qs, qw)
	// Tied groups: {0,1} then {2,3}: points (0,.25) (.5,.75) (1,.75).
	want := []Point{{0, .25}, {.5, .75}, {1, .75}}
	if len(c) != len(want) {
		t.Fatalf("got %v, want %v", c, want)
	}
	for i := range want {
		if !near(c[i].X, want[i].X, 1e-12) || !near(c[i].Y, want[i].Y, 1e-12) {
			t.Fatalf("got %v, want %v", c, want)
		}
	}
	// PGR: 0, 1, 1 → area = .5*.5 + .5*1 = 0.75.
	if got := APGR(c); !near(got, 0.75, 1e-12) {
		t.Errorf("oracle APGR: got %v, want 0.75", got)
	}
	if got := CPT(c, 0.5); !near(got, 0.25, 1e-12) {
		t.Errorf("CPT(50%%): got %v, want 0.25", got)
	}
	if got := CPT(c, 0.8); !near(got, 0.4, 1e-12) {
		t.Errorf("CPT(80%%): got %v, want 0.4", got)
	}
}

func TestCPTToyCurve(t *testing.T) {
	// Curve with q_w=0, q_s=1 and PGR values 0, .2, .6, 1 at x 0, .25, .5, 1.
	c := []Point{{0, 0}, {.25, .2}, {.5, .6}, {1, 1}}
	tests := []struct {
		name string
		p    float64
		want float64
	}{
		{"50", 0.5, 0.25 + (0.3/0.4)*0.25},
		{"80", 0.8, 0.5 + (0.2/0.4)*0.5},
		{"20 exact", 0.2, 0.25},
		{"0", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CPT(c, tt.p); !near(got, tt.want, 1e-12) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	// APGR by hand: .25*.1 + .25*.4 + .5*.8 = .525.
	if got := APGR(c); !near(got, 0.525, 1e-12) {
		t.Errorf("APGR: got %v, want 0.525", got)
	}
}

func TestRandomRouterAPGRNearHalf(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 20000
	qs, qw, sc := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		if rng.Float64() < 0.8 {
			qs[i] = 1
		}
		if rng.Float64() < 0.5 {
			qw[i] = 1
		}
		sc[i] = rng.Float64()
	}
	if got := APGR(TwoModelCurve(sc, qs, qw)); !near(got, 0.5, 0.02) {
		t.Errorf("random APGR: got %v, want 0.5±0.02", got)
	}
	// All scores tied: the curve is the straight line, APGR exactly 0.5.
	if got := APGR(TwoModelCurve(make([]float64, n), qs, qw)); !near(got, 0.5, 1e-9) {
		t.Errorf("constant-score APGR: got %v, want 0.5", got)
	}
}

func TestHullAndAIQ(t *testing.T) {
	// Points: (0,.2) (1,.6) (2,.5) (3,.9) (4,.8).
	// Upper convex hull: (0,.2) (1,.6) (3,.9) (4,.8); non-decreasing: drop
	// (4,.8), extend flat to x=4 at .9.
	pts := []Point{{2, .5}, {0, .2}, {4, .8}, {1, .6}, {3, .9}}
	h := Hull(pts)
	want := []Point{{0, .2}, {1, .6}, {3, .9}, {4, .9}}
	if len(h) != len(want) {
		t.Fatalf("hull: got %v, want %v", h, want)
	}
	for i := range want {
		if !near(h[i].X, want[i].X, 1e-12) || !near(h[i].Y, want[i].Y, 1e-12) {
			t.Fatalf("hull: got %v, want %v", h, want)
		}
	}
	// Area: 1*(.2+.6)/2 + 2*(.6+.9)/2 + 1*.9 = .4 + 1.5 + .9 = 2.8; /4 = .7.
	if got := AIQ(pts); !near(got, 0.7, 1e-12) {
		t.Errorf("AIQ: got %v, want 0.7", got)
	}
	tests := []struct {
		name string
		q    float64
		want float64
		ok   bool
	}{
		{"on first segment", 0.4, 0.5, true},
		{"on second segment", 0.75, 2, true},
		{"start", 0.1, 0, true},
		{"unreachable", 0.95, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := CostToReach(pts, tt.q)
			if ok != tt.ok || (ok && !near(got, tt.want, 1e-12)) {
				t.Errorf("got %v,%v, want %v,%v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRaschDifficulty(t *testing.T) {
	tests := []struct {
		name  string
		theta []float64
		q     []float64
		want  float64
	}{
		// σ(0 − β) = 0.5 at β = 0.
		{"one model half right", []float64{0}, []float64{0.5}, 0},
		// σ(1 − β) + σ(−1 − β) = 1 is symmetric about β = 0.
		{"strong right weak wrong", []float64{1, -1}, []float64{1, 0}, 0},
		// Two models of ability 2, one right: σ(2 − β) = 0.5, β = 2.
		{"equal abilities", []float64{2, 2}, []float64{1, 0}, 2},
		// σ(0 − β) = 0.25: β = ln 3.
		{"quarter", []float64{0, 0, 0, 0}, []float64{1, 0, 0, 0}, math.Log(3)},
		{"all right", []float64{0, 1}, []float64{1, 1}, -RaschBound},
		{"all wrong", []float64{0, 1}, []float64{0, 0}, RaschBound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RaschDifficulty(tt.theta, tt.q); !near(got, tt.want, 1e-9) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConcordance(t *testing.T) {
	// Binary y: the classic ROC example, AUC 0.75 (positives 0.35, 0.8;
	// negatives 0.1, 0.4: three of the four pairs ordered right).
	if got, ok := Concordance([]float64{0.1, 0.4, 0.35, 0.8}, []float64{0, 0, 1, 1}); !ok || !near(got, 0.75, 1e-12) {
		t.Errorf("binary: got %v, %v; want 0.75", got, ok)
	}
	// Graded y with ties in both: pairs with different y are (0,1) (0,2)
	// (0,3) (1,2) (2,3); all ordered right but (1,2), tied in score: 4.5/5.
	if got, ok := Concordance([]float64{0.1, 0.2, 0.2, 0.3}, []float64{0.2, 0.9, 0.5, 0.9}); !ok || !near(got, 0.9, 1e-12) {
		t.Errorf("graded: got %v, %v; want 0.9", got, ok)
	}
	// Reversed ranking, and constant score.
	if got, _ := Concordance([]float64{3, 2, 1}, []float64{0, 0.5, 1}); got != 0 {
		t.Errorf("reversed: got %v, want 0", got)
	}
	if got, _ := Concordance([]float64{1, 1, 1}, []float64{0, 0.5, 1}); got != 0.5 {
		t.Errorf("constant score: got %v, want 0.5", got)
	}
	// Nothing to rank.
	for _, y := range [][]float64{{0.7, 0.7, 0.7}, {1}, {}} {
		if _, ok := Concordance(make([]float64, len(y)), y); ok {
			t.Errorf("y %v: got ok, want no concordance", y)
		}
	}
	// Against the definition on random data with many ties.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		n := 1 + rng.IntN(40)
		s, y := make([]float64, n), make([]float64, n)
		for i := range n {
			s[i], y[i] = float64(rng.IntN(6)), float64(rng.IntN(4))/3
		}
		var num, pairs float64
		for a := range n {
			for b := range n {
				if y[a] > y[b] {
					pairs++
					switch {
					case s[a] > s[b]:
						num++
					case s[a] == s[b]:
						num += 0.5
					}
				}
			}
		}
		got, ok := Concordance(s, y)
		if ok != (pairs > 0) || (ok && !near(got, num/pairs, 1e-12)) {
			t.Fatalf("s %v y %v: got %v, %v; want %v", s, y, got, ok, num/pairs)
		}
	}
}
