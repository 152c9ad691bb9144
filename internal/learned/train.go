package learned

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/learned/dataset"
)

// TrainOptions are the training hyper-parameters. The defaults
// (DefaultTrainOptions) are fixed a priori, not tuned to a validation set.
type TrainOptions struct {
	Seed    uint64
	Holdout float64 // share of prompts (by prompt_id hash) kept for validation
	Dim     int     // hashed n-gram buckets
	Hidden  int     // width of the prompt representation
	Epochs  int
	LR      float64 // Adagrad step
	L2Emb   float64 // L2 on embedding rows, per update
	L2Head  float64 // L2 on the shared head and dense projection, per update
	L2Dev   float64 // L2 on each model's deviation from the shared head
	// L2Task is the L2 on the per-task offsets (one per data set, task and
	// model) fitted during training and dropped from the router: they
	// absorb how hard a whole benchmark is for a model, so the shared
	// features learn what makes one prompt harder than another within a
	// benchmark, which is what carries over to benchmarks never seen.
	// Zero disables the offsets.
	L2Task float64
	// Kind is "" (the hashed n-gram network) or KindDifficulty; the
	// options below apply to KindDifficulty.
	Kind string
	// Target is the per-prompt difficulty regressed: TargetFail (default),
	// TargetIRT or TargetGap. NoCentre keeps each task's mean difficulty in
	// the target instead of removing it.
	Target   string
	NoCentre bool
	// Within fits the linear difficulty term on features centred within
	// each task (a fixed-effects regression).
	Within bool
	// Ridge is the L2 of the linear difficulty term; Trees, Depth, Shrink
	// and MinLeaf shape the boosted trees fitted to its residual.
	Ridge   float64
	Trees   int
	Depth   int
	Shrink  float64
	MinLeaf int
	// Embeddings, when set, adds the optional embedding features (network
	// kind only): each training prompt's embedding, from
	// FetchEmbeddings. EmbedDropout is the share of examples trained
	// without theirs in each epoch, so the router also predicts without one.
	Embeddings   *EmbeddingTable
	EmbedDropout float64
}

// DefaultTrainOptions returns the options the shipped router is trained with.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{Seed: 1, Holdout: 0.2, Dim: 1 << 14, Hidden: 16, Epochs: 4,
		LR: 0.05, L2Emb: 1e-6, L2Head: 1e-4, L2Dev: 1e-2,
		Target: TargetFail, Ridge: 1e-3, Trees: 100, Depth: 3, Shrink: 0.1, MinLeaf: 50, EmbedDropout: 0.25}
}

// example is one training prompt with its precomputed features.
type example struct {
	idx   []int32
	w     []float32
	dense []float64
	// target[k] is the quality of model heads[k]; models lists head indices.
	models []int
	target []float64
	group  int       // data set and task, for the per-task offsets
	emb    []float32 // scaled prompt embedding (embedInput); nil: none
}

// featurize precomputes deduplicated hashed grams (weight count/n) and raw
// dense features.
func featurize(text string, dim int, mk *markerTable) (idx []int32, w []float32, dense []float64) {
	counts := map[uint32]int{}
	grams := sparseFeatures(text, uint64(dim), nil)
	for _, b := range grams {
		counts[b]++
	}
	n := len(grams)
	keys := make([]uint32, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool { return keys[a] < keys[b] })
	inv := 1 / math.Max(float64(n), 1)
	for _, k := range keys {
		idx = append(idx, int32(k))
		w = append(w, float32(float64(counts[k])*inv))
	}
	dense = make([]float64, numDense)
	denseFeatures(text, mk, dense)
	return idx, w, dense
}

// adagrad holds parameters with their accumulated squared gradients.
type adagrad struct {
	p, g2 []float64
}

func newAdagrad(n int) *adagrad { return &adagrad{p: make([]float64, n), g2: make([]float64, n)} }

func (a *adagrad) step(i int, grad, lr float64) {
	a.g2[i] += grad * grad
	a.p[i] -= lr * grad / (math.Sqrt(a.g2[i]) + 1e-8)
}

// maxDepth bounds the depth of the difficulty router's trees (2^depth
// leaves each).
const maxDepth = 16

// Check reports every option that is out of range or not one of its
// choices: Holdout in [0,1), Epochs at least 1, Dim in [1, MaxDim], Hidden
// in [1, MaxHidden], Kind "" or KindDifficulty, Target one of TargetFail,
// TargetIRT and TargetGap, Trees at least 0, Depth in [0, maxDepth],
// MinLeaf at least 1, Shrink finite and above 0, and L2Emb, L2Dev, L2Task
// and Ridge finite and not negative. Each error names the option as route
// train's flag, less the dashes; several are joined (errors.Join). Train
// and TrainMain call it before reading any data.
func (o TrainOptions) Check() error {
	return errors.Join(o.problems()...)
}

// problems are Check's errors, in the order of the options.
func (o TrainOptions) problems() []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if !(o.Holdout >= 0 && o.Holdout < 1) {
		add(fmt.Errorf("holdout %g is not in [0,1): it is the share of prompts held out for validation", o.Holdout))
	}
	if o.Epochs < 1 {
		add(fmt.Errorf("epochs %d: want at least 1", o.Epochs))
	}
	if o.Dim < 1 || o.Dim > MaxDim {
		add(fmt.Errorf("dim %d is not in [1,%d]", o.Dim, MaxDim))
	}
	if o.Hidden < 1 || o.Hidden > MaxHidden {
		add(fmt.Errorf("hidden %d is not in [1,%d]", o.Hidden, MaxHidden))
	}
	add(oneOf("kind", o.Kind, "", KindDifficulty))
	add(oneOf("target", o.Target, TargetFail, TargetIRT, TargetGap))
	add(atLeast("trees", o.Trees, 0))
	add(atLeast("depth", o.Depth, 0))
	if o.Depth > maxDepth {
		add(fmt.Errorf("depth %d: at most %d", o.Depth, maxDepth))
	}
	add(atLeast("min-leaf", o.MinLeaf, 1))
	add(number("shrink", o.Shrink, true))
	add(number("l2-emb", o.L2Emb, false))
	add(number("l2-dev", o.L2Dev, false))
	add(number("l2-task", o.L2Task, false))
	add(number("ridge", o.Ridge, false))
	return errs
}

// oneOf is Check's error for an option whose value v is none of choices.
func oneOf(name, v string, choices ...string) error {
	if slices.Contains(choices, v) {
		return nil
	}
	return fmt.Errorf("%s %q: want one of %q", name, v, choices)
}

// atLeast is Check's error for a count n below lo.
func atLeast(name string, n, lo int) error {
	if n < lo {
		return fmt.Errorf("%s %d: want at least %d", name, n, lo)
	}
	return nil
}

// number is Check's error for a number x that is not finite, negative, or
// (positive set) not above 0.
func number(name string, x float64, positive bool) error {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return fmt.Errorf("%s %g: want a finite number", name, x)
	case positive && x <= 0:
		return fmt.Errorf("%s %g: want a number above 0", name, x)
	case x < 0:
		return fmt.Errorf("%s %g: must not be negative", name, x)
	}
	return nil
}

// errNoTrainingPrompts is Train's error when every prompt is held out.
func errNoTrainingPrompts(prompts int, holdout float64) error {
	return fmt.Errorf("learned: train: no training prompts: all %d prompts fall in the validation split (--holdout %g holds out the prompts whose prompt_id hashes below it); add prompts or lower --holdout", prompts, holdout)
}

// Train fits a router on the training part of sets and returns it. Progress
// goes to log (may be io.Discard). It is an error when o is out of range
// (see Check) or no prompt is left for training.
func Train(sets []*dataset.Set, o TrainOptions, log io.Writer) (*Router, error) {
	if len(sets) == 0 {
		return nil, fmt.Errorf("learned: train: no data")
	}
	if err := o.Check(); err != nil {
		return nil, fmt.Errorf("learned: train: %w", err)
	}
	if o.Kind == KindDifficulty {
		if o.Embeddings != nil {
			return nil, fmt.Errorf("learned: train: embedding features need the network kind, not %s", o.Kind)
		}
		return trainDifficulty(sets, o, log)
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5851f42d4c957f2d))
	k, dim := o.Hidden, o.Dim
	var heads []ModelHead
	headIdx := map[string]int{}
	var train []example
	mk := newMarkerTable()
	groupIdx := map[string]int{}
	info := TrainingInfo{Seed: o.Seed, Holdout: o.Holdout, Epochs: o.Epochs}
	for _, s := range sets {
		info.Sets = append(info.Sets, s.Name)
		cols := make([]int, len(s.Models))
		for m, name := range s.Models {
			hi, ok := headIdx[name]
			if !ok {
				hi = len(heads)
				headIdx[name] = hi
				heads = append(heads, ModelHead{Name: name, Set: s.Name})
			}
			cols[m] = hi
			var q, c, oc float64
			var nq, nc, no int
			for i, p := range s.Prompts {
				if v := s.Quality[i][m]; !math.IsNaN(v) {
					q += v
					nq++
				}
				if v := s.Cost[i][m]; !math.IsNaN(v) {
					c += v
					nc++
				}
				if v := s.OutChars[i][m]; !math.IsNaN(v) {
					oc += v
					no++
				}
				_ = p
			}
			h := &heads[hi]
			h.MeanQuality = round6(q / math.Max(float64(nq), 1))
			h.MeanCostUSD = round6sig(c / math.Max(float64(nc), 1))
			h.OutputTokens = dataset.DefaultOutputTokens
			if no > 0 {
				h.OutputTokens = math.Round(oc / float64(no) / dataset.CharsPerToken)
			}
		}
		nTrain := 0
		for i, p := range s.Prompts {
			if dataset.IsValidation(p.ID, o.Holdout) {
				continue
			}
			gk := s.Name + "/" + TaskKey(p.Task)
			g, ok := groupIdx[gk]
			if !ok {
				g = len(groupIdx)
				groupIdx[gk] = g
			}
			ex := example{group: g}
			ex.idx, ex.w, ex.dense = featurize(p.Text, dim, mk)
			if e := o.Embeddings.Of(p.Text); e != nil {
				ex.emb = make([]float32, o.Embeddings.Dims)
				if !embedInput(ex.emb, e) {
					ex.emb = nil
				}
			}
			for m := range s.Models {
				if v := s.Quality[i][m]; !math.IsNaN(v) {
					ex.models = append(ex.models, cols[m])
					ex.target = append(ex.target, math.Min(1, math.Max(0, v)))
				}
			}
			train = append(train, ex)
			nTrain++
		}
		fmt.Fprintf(log, "loaded %s: %d prompts (%d train), %d models\n", s.Name, len(s.Prompts), nTrain, len(s.Models))
	}
	if len(train) == 0 {
		n := 0
		for _, s := range sets {
			n += len(s.Prompts)
		}
		return nil, errNoTrainingPrompts(n, o.Holdout)
	}
	// Dense standardisation from the training prompts.
	xs := make([][]float64, len(train))
	for i := range train {
		xs[i] = train[i].dense
	}
	mean, std := standardise(xs)
	nh := len(heads)
	emb := newAdagrad(dim * k)
	for i := range emb.p {
		emb.p[i] = (rng.Float64()*2 - 1) * 0.5
	}
	proj := newAdagrad(k * numDense)
	hb := newAdagrad(k)
	bias := newAdagrad(nh)
	// Head m uses W0+W[m] and A0+A[m]: a shared head plus a per-model
	// deviation under a much stronger L2, so models with few prompts borrow
	// the common notion of difficulty instead of fitting noise.
	W0, A0 := newAdagrad(k), newAdagrad(numDense)
	W := newAdagrad(nh * k)
	A := newAdagrad(nh * numDense)
	for i := range W0.p {
		W0.p[i] = (rng.Float64()*2 - 1) * 0.1
	}
	for i, h := range heads {
		q := math.Min(0.99, math.Max(0.01, h.MeanQuality))
		bias.p[i] = math.Log(q / (1 - q))
	}
	toff := newAdagrad(len(groupIdx) * nh)
	var edims int
	if o.Embeddings != nil {
		edims = o.Embeddings.Dims
	}
	eproj := newAdagrad(k * edims)
	order := make([]int, len(train))
	for i := range order {
		order[i] = i
	}
	a, h, dv := make([]float64, k), make([]float64, k), make([]float64, k)
	for ep := range o.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var loss float64
		var cells int
		for _, ei := range order {
			ex := &train[ei]
			e := ex.emb
			if o.Embeddings != nil && o.EmbedDropout > 0 && rng.Float64() < o.EmbedDropout {
				e = nil
			}
			clear(a)
			for t, b := range ex.idx {
				row := emb.p[int(b)*k : int(b)*k+k]
				wt := float64(ex.w[t])
				for j := range a {
					a[j] += wt * row[j]
				}
			}
			for j := range k {
				v := hb.p[j] + a[j]
				for d, x := range ex.dense {
					v += proj.p[j*numDense+d] * x
				}
				for d, x := range e {
					v += eproj.p[j*edims+d] * float64(x)
				}
				h[j] = math.Tanh(v)
			}
			clear(dv)
			for t, m := range ex.models {
				z := bias.p[m]
				for j := range k {
					z += (W0.p[j] + W.p[m*k+j]) * h[j]
				}
				for d, x := range ex.dense {
					z += (A0.p[d] + A.p[m*numDense+d]) * x
				}
				ti := ex.group*nh + m
				if o.L2Task > 0 {
					z += toff.p[ti]
				}
				p := sigmoid(z)
				y := ex.target[t]
				loss -= y*math.Log(math.Max(p, 1e-12)) + (1-y)*math.Log(math.Max(1-p, 1e-12))
				cells++
				g := p - y
				bias.step(m, g, o.LR)
				if o.L2Task > 0 {
					toff.step(ti, g+o.L2Task*toff.p[ti], o.LR)
				}
				for j := range k {
					dv[j] += g * (W0.p[j] + W.p[m*k+j])
					W0.step(j, g*h[j]+o.L2Head*W0.p[j], o.LR)
					W.step(m*k+j, g*h[j]+o.L2Dev*W.p[m*k+j], o.LR)
				}
				for d, x := range ex.dense {
					A0.step(d, g*x+o.L2Head*A0.p[d], o.LR)
					A.step(m*numDense+d, g*x+o.L2Dev*A.p[m*numDense+d], o.LR)
				}
			}
			for j := range k {
				dv[j] *= 1 - h[j]*h[j]
				hb.step(j, dv[j], o.LR)
				for d, x := range ex.dense {
					i := j*numDense + d
					proj.step(i, dv[j]*x+o.L2Head*proj.p[i], o.LR)
				}
				for d, x := range e {
					i := j*edims + d
					eproj.step(i, dv[j]*float64(x)+o.L2Head*eproj.p[i], o.LR)
				}
			}
			for t, b := range ex.idx {
				wt := float64(ex.w[t])
				base := int(b) * k
				for j := range k {
					emb.step(base+j, wt*dv[j]+o.L2Emb*emb.p[base+j], o.LR)
				}
			}
		}
		fmt.Fprintf(log, "epoch %d/%d: train log-loss %.4f\n", ep+1, o.Epochs, loss/math.Max(float64(cells), 1))
	}
	f := File{Format: FormatVersion, Dim: dim, Hidden: k, DenseMean: r32s(mean), DenseStd: r32s(std),
		DenseProj: r32s(proj.p), HiddenBias: r32s(hb.p), Training: info}
	e32 := make([]float32, len(emb.p))
	for i, v := range emb.p {
		e32[i] = float32(v)
	}
	f.Embedding = encodeEmbedding(e32)
	if o.Embeddings != nil {
		f.PromptEmbedding = &EmbeddingFeatures{Model: o.Embeddings.Model, Dims: edims, Proj: r32s(eproj.p)}
	}
	for i := range heads {
		heads[i].Bias = r32(bias.p[i])
		heads[i].W = r32s(addVec(W0.p, W.p[i*k:(i+1)*k]))
		heads[i].A = r32s(addVec(A0.p, A.p[i*numDense:(i+1)*numDense]))
	}
	f.Models = heads
	return fromFile(f)
}

// withValidation returns a copy of r whose file records a validation summary.
func withValidation(r *Router, v any) (*Router, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("learned: %w", err)
	}
	f := r.file
	f.Training.Validation = b
	return fromFile(f)
}

// r32 rounds to 7 significant digits (about float32 precision) so the JSON
// is compact and prints the same on every run.
func r32(v float64) float64 { return roundSig(v, 7) }

func r32s(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = r32(x)
	}
	return out
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

func round6sig(v float64) float64 { return roundSig(v, 6) }

func roundSig(v float64, digits int) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	f, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', digits, 64), 64)
	if err != nil {
		return v
	}
	return f
}

func addVec(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}
