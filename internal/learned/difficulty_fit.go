package learned

import (
	"math"
	"sort"
)

// ridgeFit solves least squares y ≈ w[0] + w[1:]·x with an L2 penalty lambda
// on w[1:] (x standardised), by Gaussian elimination on the normal equations.
func ridgeFit(xs [][]float64, ys []float64, lambda float64) []float64 {
	n := numDense + 1
	a := make([][]float64, n)
	for i := range a {
		a[i] = make([]float64, n+1)
	}
	row := make([]float64, n)
	for k, x := range xs {
		row[0] = 1
		copy(row[1:], x)
		for i := range n {
			for j := range n {
				a[i][j] += row[i] * row[j]
			}
			a[i][n] += row[i] * ys[k]
		}
	}
	for i := 1; i < n; i++ {
		a[i][i] += lambda * float64(len(xs))
	}
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p] = a[p], a[c]
		if math.Abs(a[c][c]) < 1e-12 {
			continue
		}
		for r := range n {
			if r == c {
				continue
			}
			f := a[r][c] / a[c][c]
			for k := c; k <= n; k++ {
				a[r][k] -= f * a[c][k]
			}
		}
	}
	w := make([]float64, n)
	for i := range n {
		if math.Abs(a[i][i]) >= 1e-12 {
			w[i] = a[i][n] / a[i][i]
		}
	}
	return w
}

// boost fits o.Trees regression trees of depth o.Depth to the residuals
// ys − pred by least squares (gradient boosting with shrinkage o.Shrink,
// leaves of at least o.MinLeaf prompts), updating pred. It is exact and
// deterministic: no sampling.
func boost(xs [][]float64, ys, pred []float64, o TrainOptions) []Tree {
	if o.Trees <= 0 || o.Depth <= 0 {
		return nil
	}
	n := len(xs)
	sorted := make([][]int32, numDense)
	for f := range numDense {
		idx := make([]int32, n)
		for i := range idx {
			idx[i] = int32(i)
		}
		sort.SliceStable(idx, func(a, b int) bool { return xs[idx[a]][f] < xs[idx[b]][f] })
		sorted[f] = idx
	}
	res := make([]float64, n)
	node := make([]int32, n)
	internal := 1<<o.Depth - 1
	var trees []Tree
	for range o.Trees {
		for i := range res {
			res[i] = ys[i] - pred[i]
		}
		clear(node)
		t := Tree{Feature: make([]int, internal), Threshold: make([]float64, internal), Leaf: make([]float64, internal+1)}
		for level := range o.Depth {
			first, width := 1<<level-1, 1<<level
			sum, cnt := make([]float64, width), make([]float64, width)
			for i := range n {
				k := int(node[i]) - first
				sum[k] += res[i]
				cnt[k]++
			}
			bestGain := make([]float64, width)
			bestF := make([]int, width)
			bestT := make([]float64, width)
			for k := range width {
				bestT[k] = math.Inf(1)
			}
			sl, nl, last := make([]float64, width), make([]float64, width), make([]float64, width)
			for f := range numDense {
				clear(sl)
				clear(nl)
				for _, i := range sorted[f] {
					k := int(node[i]) - first
					v := xs[i][f]
					if nl[k] >= float64(o.MinLeaf) && cnt[k]-nl[k] >= float64(o.MinLeaf) && v > last[k] {
						sr, nr := sum[k]-sl[k], cnt[k]-nl[k]
						g := sl[k]*sl[k]/nl[k] + sr*sr/nr - sum[k]*sum[k]/cnt[k]
						if g > bestGain[k]+1e-12 {
							bestGain[k], bestF[k], bestT[k] = g, f, (last[k]+v)/2
						}
					}
					sl[k] += res[i]
					nl[k]++
					last[k] = v
				}
			}
			for k := range width {
				if math.IsInf(bestT[k], 1) {
					bestT[k] = 1e30 // no useful split: everything goes left
				}
				t.Feature[first+k], t.Threshold[first+k] = bestF[k], r32(bestT[k])
			}
			for i := range n {
				nd := int(node[i])
				if xs[i][t.Feature[nd]] <= t.Threshold[nd] {
					node[i] = int32(2*nd + 1)
				} else {
					node[i] = int32(2*nd + 2)
				}
			}
		}
		sum, cnt := make([]float64, internal+1), make([]float64, internal+1)
		for i := range n {
			k := int(node[i]) - internal
			sum[k] += res[i]
			cnt[k]++
		}
		for k := range t.Leaf {
			t.Leaf[k] = r32(o.Shrink * sum[k] / (cnt[k] + 1))
		}
		for i := range n {
			pred[i] += t.Leaf[int(node[i])-internal]
		}
		trees = append(trees, t)
	}
	return trees
}

// logistic1 fits P(y) = sigmoid(a + b·x) by Newton's method (fractional
// y allowed) with a small ridge, returning (a, b).
func logistic1(x, y []float64) (a, b float64) {
	if len(x) == 0 {
		return 0, 0
	}
	var my float64
	for _, v := range y {
		my += v
	}
	my = math.Min(0.99, math.Max(0.01, my/float64(len(y))))
	a = math.Log(my / (1 - my))
	const ridge = 1e-3
	for range 25 {
		var ga, gb, haa, hab, hbb float64
		for i, xv := range x {
			p := sigmoid(a + b*xv)
			g := p - y[i]
			w := p * (1 - p)
			ga += g
			gb += g * xv
			haa += w
			hab += w * xv
			hbb += w * xv * xv
		}
		nf := float64(len(x))
		gb += ridge * nf * b
		hbb += ridge * nf
		haa += 1e-9
		det := haa*hbb - hab*hab
		if det <= 0 {
			break
		}
		da := (hbb*ga - hab*gb) / det
		db := (haa*gb - hab*ga) / det
		a -= da
		b -= db
		if math.Abs(da)+math.Abs(db) < 1e-10 {
			break
		}
	}
	return a, b
}
