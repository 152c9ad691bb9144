// Package metrics defines the standard measures of a cost/quality router,
// exactly as docs/learned-router.md states them: the two-model curve with
// PGR, APGR and CPT (RouteLLM), and the many-model cost/quality curve with
// its non-decreasing hull, cost to reach a quality, and AIQ (RouterBench).
package metrics

import (
	"math"
	"slices"
	"sort"
)

// Point is one operating point of a router: x is the share of calls to the
// strong model (two-model view) or the mean cost per call (many-model view);
// y is the mean quality.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// TwoModelCurve is the quality-vs-strong-share curve of a router that sends
// the prompts with the highest score to the strong model. Prompts with equal
// scores are one step (the curve is linear across it, which is what random
// tie-breaking gives on average), so the curve does not depend on the
// order of tied prompts. qStrong[i] and qWeak[i] are the two models'
// qualities on prompt i. The curve runs from share 0 (all weak) to share 1.
// A NaN score ranks below every number, and all NaN scores are one tie:
// such prompts go to the strong model last.
func TwoModelCurve(score, qStrong, qWeak []float64) []Point {
	n := len(score)
	if n == 0 {
		return nil
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return less(score[order[b]], score[order[a]]) })
	var sumW float64
	for i := range n {
		sumW += qWeak[i]
	}
	pts := []Point{{0, sumW / float64(n)}}
	cur := sumW
	for k := 0; k < n; {
		j := k
		for j < n && same(score[order[j]], score[order[k]]) {
			i := order[j]
			cur += qStrong[i] - qWeak[i]
			j++
		}
		pts = append(pts, Point{float64(j) / float64(n), cur / float64(n)})
		k = j
	}
	return pts
}

// less orders scores with NaN below every number (a strict weak order,
// which the comparison operators alone are not once NaN is present).
func less(x, y float64) bool {
	if math.IsNaN(x) {
		return !math.IsNaN(y)
	}
	return x < y
}

// same is score equality with every NaN equal to every other, so a group
// of equal scores always holds at least its first member.
func same(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }

// PGR converts a two-model curve to performance-gap-recovered:
// PGR(x) = (quality(x) - meanWeak) / (meanStrong - meanWeak), with the means
// taken from the curve's end points. It returns nil when the gap is zero.
func PGR(curve []Point) []Point {
	if len(curve) < 2 {
		return nil
	}
	qw, qs := curve[0].Y, curve[len(curve)-1].Y
	gap := qs - qw
	if gap == 0 {
		return nil
	}
	out := make([]Point, len(curve))
	for i, p := range curve {
		out[i] = Point{p.X, (p.Y - qw) / gap}
	}
	return out
}

// APGR is the area under the PGR curve over strong share 0..1, by the
// trapezoid rule. A random router scores 0.5.
func APGR(curve []Point) float64 {
	return Area(PGR(curve))
}

// CPT is the call-performance threshold: the smallest strong-call share at
// which PGR reaches p (e.g. 0.5 for CPT(50%)), interpolating linearly
// between curve points. It returns 1 if PGR never reaches p before the end.
func CPT(curve []Point, p float64) float64 {
	pg := PGR(curve)
	if pg == nil {
		return math.NaN()
	}
	if pg[0].Y >= p {
		return pg[0].X
	}
	for i := 1; i < len(pg); i++ {
		a, b := pg[i-1], pg[i]
		if b.Y >= p {
			if b.Y == a.Y {
				return b.X
			}
			return a.X + (p-a.Y)/(b.Y-a.Y)*(b.X-a.X)
		}
	}
	return 1
}

// Area integrates a piecewise-linear curve by the trapezoid rule.
func Area(pts []Point) float64 {
	var a float64
	for i := 1; i < len(pts); i++ {
		a += (pts[i].X - pts[i-1].X) * (pts[i].Y + pts[i-1].Y) / 2
	}
	return a
}

// Hull is the non-decreasing upper hull of cost/quality points: the upper
// convex hull (any point on it is reachable by mixing two operating points
// at random) made non-decreasing (paying more never lowers quality, since
// one can keep the cheaper point). Points are returned by increasing cost
// and span the input's cost range.
func Hull(pts []Point) []Point {
	if len(pts) == 0 {
		return nil
	}
	p := append([]Point(nil), pts...)
	sort.Slice(p, func(a, b int) bool {
		if p[a].X != p[b].X {
			return p[a].X < p[b].X
		}
		return p[a].Y > p[b].Y
	})
	// Keep the best quality per cost.
	u := p[:1]
	for _, q := range p[1:] {
		if q.X != u[len(u)-1].X {
			u = append(u, q)
		}
	}
	var h []Point
	for _, q := range u {
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], q) >= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	// Non-decreasing: once quality peaks, stay flat to the largest cost.
	maxX := u[len(u)-1].X
	out := []Point{h[0]}
	for _, q := range h[1:] {
		if q.Y < out[len(out)-1].Y {
			break
		}
		out = append(out, q)
	}
	if last := out[len(out)-1]; last.X < maxX {
		out = append(out, Point{maxX, last.Y})
	}
	return out
}

// cross is > 0 when o→a→b turns left (b above the line o→a).
func cross(o, a, b Point) float64 {
	return (a.X-o.X)*(b.Y-o.Y) - (a.Y-o.Y)*(b.X-o.X)
}

// AIQ is the average improvement in quality: the area under the
// non-decreasing hull with cost normalised to [0,1] over the curve's own
// cost range. A curve with a single cost has AIQ equal to its quality.
func AIQ(pts []Point) float64 {
	h := Hull(pts)
	if len(h) == 0 {
		return math.NaN()
	}
	lo, hi := h[0].X, h[len(h)-1].X
	if hi == lo {
		return h[0].Y
	}
	return Area(h) / (hi - lo)
}

// CostToReach is the smallest cost at which the hull of pts reaches quality
// q, interpolating linearly; ok is false if it never does.
func CostToReach(pts []Point, q float64) (cost float64, ok bool) {
	h := Hull(pts)
	if len(h) == 0 {
		return math.NaN(), false
	}
	if h[0].Y >= q {
		return h[0].X, true
	}
	for i := 1; i < len(h); i++ {
		a, b := h[i-1], h[i]
		if b.Y >= q {
			return a.X + (q-a.Y)/(b.Y-a.Y)*(b.X-a.X), true
		}
	}
	return math.NaN(), false
}

// RaschBound is the largest difficulty RaschDifficulty returns, in logits:
// a prompt every model answered (or none did) has no finite estimate.
const RaschBound = 8

// RaschDifficulty is the maximum-likelihood difficulty β of one prompt
// under the Rasch (one-parameter IRT) model P(good) = σ(θ_m − β), given
// each model's ability theta[m] and its quality q[m] ∈ [0,1] on the prompt
// (fractional qualities count as that share of a good answer). The
// log-likelihood is concave in β, so its root Σ σ(θ_m − β) = Σ q_m is
// found by bisection; the result lies in [−RaschBound, RaschBound].
func RaschDifficulty(theta, q []float64) float64 {
	var want float64
	for _, v := range q {
		want += v
	}
	expected := func(b float64) float64 {
		var s float64
		for _, t := range theta {
			s += 1 / (1 + math.Exp(b-t))
		}
		return s
	}
	lo, hi := -float64(RaschBound), float64(RaschBound)
	if expected(lo) <= want {
		return lo
	}
	if expected(hi) >= want {
		return hi
	}
	for range 60 {
		mid := (lo + hi) / 2
		if expected(mid) > want {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// Concordance is the ranking quality of score against observed y: over
// every pair of items with different y, the share where the item with the
// larger y has the larger score, a tie in score counting one half. It is
// the ROC AUC when y is 0 or 1 and the Mann-Whitney statistic in general:
// 1 is a perfect ranking, 0.5 a random one. ok is false when no two items
// differ in y (nothing to rank). O(n log n). A NaN score ranks below
// every number (all NaN scores tie); items whose y is NaN are left out.
func Concordance(score, y []float64) (c float64, ok bool) {
	if slices.ContainsFunc(y, math.IsNaN) {
		var s, yy []float64
		for i, v := range y {
			if !math.IsNaN(v) {
				s, yy = append(s, score[i]), append(yy, v)
			}
		}
		score, y = s, yy
	}
	n := len(score)
	ys := append([]float64(nil), y...)
	sort.Float64s(ys)
	var distinct []float64
	for i, v := range ys {
		if i == 0 || v != ys[i-1] {
			distinct = append(distinct, v)
		}
	}
	rank := func(v float64) int { return sort.SearchFloat64s(distinct, v) }
	// pairs counts the pairs with different y: all pairs less those within
	// one y value.
	pairs := float64(n) * float64(n-1) / 2
	for i := 0; i < n; {
		j := i
		for j < n && ys[j] == ys[i] {
			j++
		}
		pairs -= float64(j-i) * float64(j-i-1) / 2
		i = j
	}
	if pairs == 0 {
		return 0, false
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return less(score[order[a]], score[order[b]]) })
	// fen is a Fenwick tree counting, per y rank, the items with a smaller
	// score than the current group.
	fen := make([]int, len(distinct)+1)
	below := func(r int) (s int) { // items seen with rank < r
		for ; r > 0; r -= r & -r {
			s += fen[r]
		}
		return s
	}
	var good, tied float64
	inGroup := map[int]int{}
	for k := 0; k < n; {
		j := k
		for j < n && same(score[order[j]], score[order[k]]) {
			j++
		}
		clear(inGroup)
		for _, i := range order[k:j] {
			r := rank(y[i])
			good += float64(below(r))
			inGroup[r]++
		}
		g := float64(j - k)
		tied += g * (g - 1) / 2
		for r, m := range inGroup {
			tied -= float64(m) * float64(m-1) / 2
			for x := r + 1; x < len(fen); x += x & -x {
				fen[x] += m
			}
		}
		k = j
	}
	return (good + tied/2) / pairs, true
}
