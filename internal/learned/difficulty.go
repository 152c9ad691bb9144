package learned

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/switchyard-gw/switchyard/internal/learned/dataset"
)

// KindDifficulty names the difficulty router: one task-agnostic predicted
// difficulty d̂(p), computed from the dense features only by a linear term
// plus small gradient-boosted trees, and per reference model
// P(good answer) = sigmoid(Bias + Slope·d̂). No n-grams: what it learns is
// "how hard does this prompt look", not "which benchmark is this".
const KindDifficulty = "difficulty"

// Difficulty targets (TrainOptions.Target) for the difficulty router.
const (
	// TargetFail is the share of the set's models that fail the prompt.
	TargetFail = "fail"
	// TargetIRT is the prompt's Rasch (1PL IRT) difficulty fitted on all
	// the set's models' scores.
	TargetIRT = "irt"
	// TargetGap is the mean quality of the set's better half of models
	// minus that of its worse half: a pairwise "strong beats weak" target.
	TargetGap = "gap"
)

// Tree is one regression tree of depth len(Leaf) = 2^depth, stored as a
// complete binary tree: internal node n tests x[Feature[n]] <= Threshold[n]
// (true: child 2n+1, else 2n+2).
type Tree struct {
	Feature   []int     `json:"f"`
	Threshold []float64 `json:"t"`
	Leaf      []float64 `json:"v"`
}

// eval returns the tree's value at x.
func (t *Tree) eval(x []float32) float32 {
	n := 0
	for n < len(t.Feature) {
		if float64(x[t.Feature[n]]) <= t.Threshold[n] {
			n = 2*n + 1
		} else {
			n = 2*n + 2
		}
	}
	return float32(t.Leaf[n-len(t.Feature)])
}

// difficultyTargets returns, for each prompt of s, its difficulty target
// (NaN when no model scored it).
func difficultyTargets(s *dataset.Set, target string) []float64 {
	out := make([]float64, len(s.Prompts))
	switch target {
	case TargetIRT:
		return raschDifficulty(s)
	case TargetGap:
		mean := modelMeans(s)
		order := make([]int, len(mean))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return mean[order[a]] > mean[order[b]] })
		half := len(order) / 2
		for i := range s.Prompts {
			var top, bot, nt, nb float64
			for r, m := range order {
				v := s.Quality[i][m]
				if math.IsNaN(v) {
					continue
				}
				if r < half {
					top, nt = top+v, nt+1
				} else if r >= len(order)-half {
					bot, nb = bot+v, nb+1
				}
			}
			out[i] = math.NaN()
			if nt > 0 && nb > 0 {
				out[i] = top/nt - bot/nb
			}
		}
	default:
		for i := range s.Prompts {
			var f, n float64
			for _, v := range s.Quality[i] {
				if !math.IsNaN(v) {
					f, n = f+1-v, n+1
				}
			}
			out[i] = math.NaN()
			if n > 0 {
				out[i] = f / n
			}
		}
	}
	return out
}

func modelMeans(s *dataset.Set) []float64 {
	mean := make([]float64, len(s.Models))
	for m := range s.Models {
		var n float64
		for i := range s.Prompts {
			if v := s.Quality[i][m]; !math.IsNaN(v) {
				mean[m] += v
				n++
			}
		}
		mean[m] /= math.Max(n, 1)
	}
	return mean
}

// raschDifficulty fits P(correct) = sigmoid(θ_m − β_p) on s by 30 rounds
// of alternating one-step Newton updates with a small ridge on β, and
// returns β.
func raschDifficulty(s *dataset.Set) []float64 {
	theta := make([]float64, len(s.Models))
	beta := make([]float64, len(s.Prompts))
	const ridge = 0.5
	for range 30 {
		for i := range s.Prompts {
			g, h := ridge*beta[i], ridge
			for m, v := range s.Quality[i] {
				if math.IsNaN(v) {
					continue
				}
				p := sigmoid(theta[m] - beta[i])
				g += p - v
				h += p * (1 - p)
			}
			beta[i] += g / h
		}
		g, h := make([]float64, len(theta)), make([]float64, len(theta))
		for i := range s.Prompts {
			for m, v := range s.Quality[i] {
				if math.IsNaN(v) {
					continue
				}
				p := sigmoid(theta[m] - beta[i])
				g[m] += v - p
				h[m] += p * (1 - p)
			}
		}
		for m := range theta {
			theta[m] += g[m] / (h[m] + 1e-3)
		}
	}
	return beta
}

// trainDifficulty fits a KindDifficulty router on the training part of sets.
func trainDifficulty(sets []*dataset.Set, o TrainOptions, log io.Writer) (*Router, error) {
	mk := newMarkerTable()
	var heads []ModelHead
	headIdx := map[string]int{}
	var xs [][]float64
	var ys []float64
	var groups []string
	type cell struct {
		ex, head int
		y        float64
	}
	var cells []cell
	info := TrainingInfo{Seed: o.Seed, Holdout: o.Holdout, Epochs: o.Epochs}
	for _, s := range sets {
		info.Sets = append(info.Sets, s.Name)
		means := modelMeans(s)
		cols := make([]int, len(s.Models))
		for m, name := range s.Models {
			hi, ok := headIdx[name]
			if !ok {
				hi = len(heads)
				headIdx[name] = hi
				heads = append(heads, ModelHead{Name: name, Set: s.Name, OutputTokens: dataset.DefaultOutputTokens})
			}
			cols[m] = hi
			h := &heads[hi]
			h.MeanQuality = round6(means[m])
			var c, oc, nc, no float64
			for i := range s.Prompts {
				if v := s.Cost[i][m]; !math.IsNaN(v) {
					c, nc = c+v, nc+1
				}
				if v := s.OutChars[i][m]; !math.IsNaN(v) {
					oc, no = oc+v, no+1
				}
			}
			h.MeanCostUSD = round6sig(c / math.Max(nc, 1))
			if no > 0 {
				h.OutputTokens = math.Round(oc / no / dataset.CharsPerToken)
			}
		}
		d := difficultyTargets(s, o.Target)
		// Centre the target within each task: the regressor must learn what
		// makes one prompt harder than another of the same benchmark.
		groupSum, groupN := map[string]float64{}, map[string]float64{}
		var keep []int
		for i, p := range s.Prompts {
			if dataset.IsValidation(p.ID, o.Holdout) || math.IsNaN(d[i]) {
				continue
			}
			keep = append(keep, i)
			groupSum[TaskKey(p.Task)] += d[i]
			groupN[TaskKey(p.Task)]++
		}
		for _, i := range keep {
			p := s.Prompts[i]
			x := make([]float64, numDense)
			denseFeatures(p.Text, mk, x)
			y := d[i]
			if !o.NoCentre {
				y -= groupSum[TaskKey(p.Task)] / groupN[TaskKey(p.Task)]
			}
			for m, v := range s.Quality[i] {
				if !math.IsNaN(v) {
					cells = append(cells, cell{len(xs), cols[m], math.Min(1, math.Max(0, v))})
				}
			}
			xs = append(xs, x)
			ys = append(ys, y)
			groups = append(groups, s.Name+"/"+TaskKey(p.Task))
		}
		fmt.Fprintf(log, "loaded %s: %d prompts (%d train), %d models\n", s.Name, len(s.Prompts), len(keep), len(s.Models))
	}
	if len(xs) == 0 {
		n, held := 0, 0
		for _, s := range sets {
			n += len(s.Prompts)
			for _, p := range s.Prompts {
				if dataset.IsValidation(p.ID, o.Holdout) {
					held++
				}
			}
		}
		if held == n {
			return nil, errNoTrainingPrompts(n, o.Holdout)
		}
		return nil, fmt.Errorf("learned: train: no training prompts: none of the %d prompts outside the validation split has a score", n-held)
	}
	mean, std := standardise(xs)
	// The target is scaled to unit variance so Slope is comparable across targets.
	var ym, yv float64
	for _, y := range ys {
		ym += y
	}
	ym /= float64(len(ys))
	for _, y := range ys {
		yv += (y - ym) * (y - ym)
	}
	ysd := math.Sqrt(yv/float64(len(ys))) + 1e-9
	for i := range ys {
		ys[i] = (ys[i] - ym) / ysd
	}
	fitX := xs
	if o.Within {
		fitX = withinTask(xs, groups)
	}
	lin := ridgeFit(fitX, ys, o.Ridge)
	pred := make([]float64, len(xs))
	for i, x := range xs {
		pred[i] = linear(lin, x)
	}
	trees := boost(xs, ys, pred, o)
	// Per-model calibration: logistic regression of quality on d̂.
	sx := make([][]float64, len(heads))
	sy := make([][]float64, len(heads))
	for _, c := range cells {
		sx[c.head] = append(sx[c.head], pred[c.ex])
		sy[c.head] = append(sy[c.head], c.y)
	}
	for m := range heads {
		a, b := logistic1(sx[m], sy[m])
		heads[m].Bias, heads[m].Slope = r32(a), r32(b)
		heads[m].W, heads[m].A = []float64{}, []float64{}
	}
	fmt.Fprintf(log, "difficulty: target %s, %d prompts, %d trees\n", o.Target, len(xs), len(trees))
	f := File{Format: FormatVersion, Kind: KindDifficulty, Dim: 1, Hidden: 1, DenseMean: r32s(mean), DenseStd: r32s(std),
		Linear: r32s(lin), Trees: trees, Models: heads, Training: info}
	return fromFile(f)
}

// withinTask returns xs with each task's (group's) mean removed: a linear
// fit on them learns only how prompts of one task differ from each other.
func withinTask(xs [][]float64, groups []string) [][]float64 {
	sum, n := map[string][]float64{}, map[string]float64{}
	for i, x := range xs {
		if sum[groups[i]] == nil {
			sum[groups[i]] = make([]float64, len(x))
		}
		for j, v := range x {
			sum[groups[i]][j] += v
		}
		n[groups[i]]++
	}
	out := make([][]float64, len(xs))
	for i, x := range xs {
		out[i] = make([]float64, len(x))
		for j, v := range x {
			out[i][j] = v - sum[groups[i]][j]/n[groups[i]]
		}
	}
	return out
}

// denseClip bounds a standardised dense feature. A prompt unlike every
// training prompt (CJK text when training saw none: a standard deviation
// near zero) would otherwise give a z-score of thousands and a certain,
// and wrong, prediction.
const denseClip = 5

// zscore is (v-mean)*invStd clipped to ±denseClip.
func zscore(v, mean, invStd float32) float32 {
	return min(denseClip, max(-denseClip, (v-mean)*invStd))
}

// standardise scales xs in place to zero mean and unit variance per
// column, clipped to ±denseClip as at prediction time, and returns the mean
// and standard deviation.
func standardise(xs [][]float64) (mean, std []float64) {
	mean, std = make([]float64, numDense), make([]float64, numDense)
	for _, x := range xs {
		for j, v := range x {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(len(xs))
	}
	for _, x := range xs {
		for j, v := range x {
			std[j] += (v - mean[j]) * (v - mean[j])
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j]/float64(len(xs))) + 1e-6
	}
	for _, x := range xs {
		for j := range x {
			x[j] = float64(zscore(float32(x[j]), float32(mean[j]), float32(1/std[j])))
		}
	}
	return mean, std
}

// linear is w[0] + w[1:]·x.
func linear(w, x []float64) float64 {
	v := w[0]
	for j, xv := range x {
		v += w[j+1] * xv
	}
	return v
}

// difficultyFromFile builds a KindDifficulty router: r.bias and r.w hold
// each head's Bias and Slope.
func difficultyFromFile(f File) (*Router, error) {
	if len(f.DenseMean) != numDense || len(f.DenseStd) != numDense || len(f.Linear) != numDense+1 {
		return nil, errors.New("difficulty parameters have the wrong size")
	}
	for i, t := range f.Trees {
		n := len(t.Feature)
		if n == 0 || len(t.Threshold) != n || len(t.Leaf) != n+1 || (n+1)&n != 0 {
			return nil, fmt.Errorf("tree %d has the wrong shape", i)
		}
		for _, ft := range t.Feature {
			if ft < 0 || ft >= numDense {
				return nil, fmt.Errorf("tree %d uses feature %d", i, ft)
			}
		}
	}
	r := &Router{file: f, markers: newMarkerTable(), index: map[string]int{}}
	r.mean, r.proj = f32s(f.DenseMean), f32s(f.Linear)
	var err error
	if r.invStd, err = invStds(f.DenseStd); err != nil {
		return nil, err
	}
	for i, m := range f.Models {
		if _, dup := r.index[m.Name]; dup {
			return nil, fmt.Errorf("model %q listed twice", m.Name)
		}
		r.index[m.Name] = i
		r.models = append(r.models, m.Name)
		r.bias = append(r.bias, float32(m.Bias))
		r.w = append(r.w, float32(m.Slope))
	}
	ps := []params{{"dense_mean", r.mean}, {"linear", r.proj}, {"bias", r.bias}, {"slope", r.w}}
	for i, t := range f.Trees {
		// Thresholds are only compared (training writes 1e30 for "never").
		ps = append(ps, params{fmt.Sprintf("trees[%d].v", i), f32s(t.Leaf)})
	}
	if err := checkParams(ps); err != nil {
		return nil, err
	}
	r.pool.New = func() any {
		return &scratch{h: make([]float32, 1), dense: make([]float64, numDense), dense32: make([]float32, numDense)}
	}
	return r, nil
}

// representDifficulty computes the standardised dense features and d̂ (in
// s.h[0]).
func (r *Router) representDifficulty(prompt string, s *scratch) {
	denseFeatures(prompt, r.markers, s.dense)
	x := s.dense32[:numDense]
	d := r.proj[0]
	for j := range x {
		x[j] = zscore(float32(s.dense[j]), r.mean[j], r.invStd[j])
		d += r.proj[j+1] * x[j]
	}
	for i := range r.file.Trees {
		d += r.file.Trees[i].eval(x)
	}
	s.h[0] = d
}
