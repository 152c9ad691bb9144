// Package learned is Switchyard's learned cost/quality router: a small model,
// trained offline from per-prompt results of many LLMs (see package
// dataset), that predicts from the prompt text alone how likely each of its
// reference models is to answer well. The gateway's "learned" routing policy
// loads a router file with Load and asks Choose, per request, for the
// deployments in preference order; the decision takes microseconds and makes
// no network call. TrainMain and EvalMain are the "switchyard route train"
// and "switchyard route eval" commands. docs/learned-router.md explains the
// model, the training data and how to pick a target.
package learned

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/switchyard-gw/switchyard/internal/fileread"
	"github.com/switchyard-gw/switchyard/routers"
)

// FormatVersion names the router file format.
const FormatVersion = "switchyard-learned-router/v1"

// Router predicts, from a prompt, each reference model's probability of
// answering it well. It is immutable after Load and safe for concurrent use.
type Router struct {
	file    File
	markers *markerTable
	models  []string
	index   map[string]int
	pool    sync.Pool // *scratch
	// The parameters in float32 for evaluation: emb is Dim × Hidden
	// row-major by bucket; proj Hidden × numDense; w and a are the heads,
	// one row per model.
	emb, proj, hbias, mean, invStd []float32
	bias, w, a                     []float32
	// eproj is PromptEmbedding.Proj (Hidden × dims); nil without one.
	eproj []float32
}

// File is the JSON form of a router.
type File struct {
	Format string `json:"format"`
	// Kind is the model: "" for the hashed n-gram network, KindDifficulty
	// for the difficulty router (Linear, Trees and each head's Slope; no
	// embedding).
	Kind string `json:"kind,omitempty"`
	// Linear (1 + numDense: intercept, weights) and Trees give the
	// difficulty router's d̂ = Linear·(1, dense) + Σ Trees(dense).
	Linear []float64 `json:"linear,omitempty"`
	Trees  []Tree    `json:"trees,omitempty"`
	// Dim is the number of hashed n-gram buckets; Hidden the prompt
	// representation's width.
	Dim    int `json:"dim"`
	Hidden int `json:"hidden"`
	// DenseMean and DenseStd standardise the dense features.
	DenseMean []float64 `json:"dense_mean"`
	DenseStd  []float64 `json:"dense_std"`
	// DenseProj (Hidden × numDense) and HiddenBias feed the dense features
	// into the prompt representation h = tanh(E·grams + DenseProj·dense + HiddenBias).
	DenseProj  []float64 `json:"dense_proj"`
	HiddenBias []float64 `json:"hidden_bias"`
	// Embedding is E, Dim × Hidden little-endian float32, base64.
	Embedding string `json:"embedding"`
	// PromptEmbedding, when set, adds an embedding of the prompt to h
	// (optional; see EmbeddingFeatures).
	PromptEmbedding *EmbeddingFeatures `json:"prompt_embedding,omitempty"`
	// Models are the reference models with their output heads.
	Models []ModelHead `json:"models"`
	// Training records how the file was made.
	Training TrainingInfo `json:"training"`
}

// ModelHead is one reference model: P(good answer) =
// sigmoid(Bias + W·h + A·dense).
type ModelHead struct {
	Name string  `json:"name"`
	Set  string  `json:"set"`
	Bias float64 `json:"bias"`
	// Slope is the difficulty router's P = sigmoid(Bias + Slope·d̂).
	Slope float64   `json:"slope,omitempty"`
	W     []float64 `json:"w"`
	A     []float64 `json:"a"`
	// MeanQuality and MeanCostUSD are the model's averages on its training set.
	MeanQuality float64 `json:"mean_quality"`
	MeanCostUSD float64 `json:"mean_cost_usd"`
	// OutputTokens is the mean answer length in tokens (estimated), used to
	// price a call from per-token prices.
	OutputTokens float64 `json:"output_tokens"`
}

// TrainingInfo records the training command's inputs and the validation
// summary; it holds no paths or times, so a retrain is byte-identical.
type TrainingInfo struct {
	Sets       []string        `json:"sets"`
	Seed       uint64          `json:"seed"`
	Holdout    float64         `json:"holdout"`
	Epochs     int             `json:"epochs"`
	Validation json.RawMessage `json:"validation,omitempty"`
}

// scratch is the per-call working memory, reused through Router.pool so a
// decision does not allocate.
type scratch struct {
	grams   []uint32
	acc, h  []float32
	dense   []float64
	dense32 []float32
	choices []Choice
	// in is the prompt's embedding for this call (nil: none); e is its
	// scaled copy.
	in []float32
	e  []float32
}

// Builtin names the default router shipped inside the binary: a route's
// router_file may say "builtin:default" instead of a path.
const Builtin = "builtin:default"

// Bounds on what a router file may declare. Training gives far less (the
// shipped router: dim 16384, hidden 16); the bounds keep a damaged or
// hand-edited file from asking for absurd allocations, and keep every sum
// of parameters Predict computes finite.
const (
	// MaxDim is the largest number of hashed n-gram buckets.
	MaxDim = 1 << 24
	// MaxHidden is the largest width of the prompt representation.
	MaxHidden = 1 << 12
	// maxEmbedDims is the largest prompt embedding a router may take.
	maxEmbedDims = 1 << 16
	// maxParam is the largest magnitude of a parameter (as float32).
	maxParam = 1e12
)

// Load reads and checks a router file, or the shipped one for Builtin. It
// never panics: a file that is not a well-formed router, whatever its
// content, is an error naming path.
func Load(path string) (*Router, error) {
	var b []byte
	if path == Builtin {
		b = routers.Default()
	} else {
		var err error
		if b, err = readFile(path); err != nil {
			return nil, fmt.Errorf("learned: %w", err)
		}
	}
	return decode(b, path)
}

// MaxFileBytes is the largest router file Load reads (the shipped one is
// 1.4 MB): a larger one is an error, read no further.
const MaxFileBytes = 64 << 20

// readFile reads a router file: a regular file (a symlink to one is fine)
// of at most MaxFileBytes (fileread.Regular).
func readFile(path string) ([]byte, error) {
	return fileread.Regular(path, MaxFileBytes)
}

// decode is Load on the file's bytes; name is the file's path for errors.
func decode(b []byte, name string) (r *Router, err error) {
	defer func() {
		// A loader bug must not take down the gateway reloading a file.
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("learned: %s: not a valid router file (%v)", name, p)
		}
	}()
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("learned: decode %s: %w", name, err)
	}
	r, err = fromFile(f)
	if err != nil {
		return nil, fmt.Errorf("learned: %s: %w", name, err)
	}
	return r, nil
}

func fromFile(f File) (*Router, error) {
	if f.Format != FormatVersion {
		return nil, fmt.Errorf("unknown format %q", f.Format)
	}
	if f.Dim <= 0 || f.Hidden <= 0 || len(f.Models) == 0 {
		return nil, errors.New("empty router")
	}
	if f.Dim > MaxDim || f.Hidden > MaxHidden {
		return nil, fmt.Errorf("dim %d and hidden %d: at most %d and %d", f.Dim, f.Hidden, MaxDim, MaxHidden)
	}
	if err := checkHeads(f.Models); err != nil {
		return nil, err
	}
	if f.Kind == KindDifficulty {
		return difficultyFromFile(f)
	}
	if f.Kind != "" {
		return nil, fmt.Errorf("unknown router kind %q", f.Kind)
	}
	raw, err := base64.StdEncoding.DecodeString(f.Embedding)
	if err != nil {
		return nil, fmt.Errorf("embedding: %w", err)
	}
	// Dim and Hidden are bounded, so the size cannot overflow.
	if want := 4 * uint64(f.Dim) * uint64(f.Hidden); uint64(len(raw)) != want {
		return nil, fmt.Errorf("embedding has %d bytes, want %d", len(raw), want)
	}
	if len(f.DenseMean) != numDense || len(f.DenseStd) != numDense || len(f.DenseProj) != f.Hidden*numDense || len(f.HiddenBias) != f.Hidden {
		return nil, errors.New("dense feature parameters have the wrong size")
	}
	k := f.Hidden
	r := &Router{file: f, markers: newMarkerTable(), emb: make([]float32, f.Dim*k), index: map[string]int{}}
	for i := range r.emb {
		r.emb[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	r.proj, r.hbias, r.mean = f32s(f.DenseProj), f32s(f.HiddenBias), f32s(f.DenseMean)
	if r.invStd, err = invStds(f.DenseStd); err != nil {
		return nil, err
	}
	for i, m := range f.Models {
		if len(m.W) != k || len(m.A) != numDense {
			return nil, fmt.Errorf("model %q: head has the wrong size", m.Name)
		}
		if _, dup := r.index[m.Name]; dup {
			return nil, fmt.Errorf("model %q listed twice", m.Name)
		}
		r.index[m.Name] = i
		r.models = append(r.models, m.Name)
		r.bias = append(r.bias, float32(m.Bias))
		r.w = append(r.w, f32s(m.W)...)
		r.a = append(r.a, f32s(m.A)...)
	}
	var dims int
	if e := f.PromptEmbedding; e != nil {
		if e.Dims <= 0 || e.Dims > maxEmbedDims || len(e.Proj) != k*e.Dims {
			return nil, errors.New("prompt embedding parameters have the wrong size")
		}
		dims, r.eproj = e.Dims, f32s(e.Proj)
	}
	if err := checkParams([]params{{"embedding", r.emb}, {"dense_mean", r.mean}, {"dense_proj", r.proj}, {"hidden_bias", r.hbias},
		{"bias", r.bias}, {"w", r.w}, {"a", r.a}, {"prompt_embedding.proj", r.eproj}}); err != nil {
		return nil, err
	}
	r.pool.New = func() any {
		return &scratch{grams: make([]uint32, 0, maxGrams), acc: make([]float32, k), h: make([]float32, k),
			dense: make([]float64, numDense), dense32: make([]float32, numDense), e: make([]float32, dims)}
	}
	return r, nil
}

// params are named parameters of a router, as evaluated (float32).
type params struct {
	name string
	v    []float32
}

// checkParams reports a parameter that is not finite, or so large that
// the sums of Predict could overflow (NaN predictions), once in float32.
func checkParams(ps []params) error {
	for _, p := range ps {
		for i, x := range p.v {
			if !(math.Abs(float64(x)) <= maxParam) {
				return fmt.Errorf("parameter %s[%d] is %g as float32: not finite, or beyond ±%g", p.name, i, x, float64(maxParam))
			}
		}
	}
	return nil
}

// invStds returns 1/std of the dense features' standard deviations, each
// of which must be positive with a finite inverse.
func invStds(std []float64) ([]float32, error) {
	out := make([]float32, len(std))
	for i, v := range std {
		out[i] = float32(1 / v)
		if !(v > 0) || math.IsInf(float64(out[i]), 0) {
			return nil, fmt.Errorf("dense_std[%d] is %g: want a positive standard deviation", i, v)
		}
	}
	return out, nil
}

// checkHeads checks the per-model figures Choose and route eval use.
func checkHeads(models []ModelHead) error {
	for _, m := range models {
		switch {
		case !(m.MeanQuality >= 0 && m.MeanQuality <= 1):
			return fmt.Errorf("model %q: mean_quality %g is not in [0,1]", m.Name, m.MeanQuality)
		case !(m.MeanCostUSD >= 0 && m.MeanCostUSD <= maxParam):
			return fmt.Errorf("model %q: mean_cost_usd %g is not in [0,%g]", m.Name, m.MeanCostUSD, float64(maxParam))
		case !(m.OutputTokens >= 0 && m.OutputTokens <= maxParam):
			return fmt.Errorf("model %q: output_tokens %g is not in [0,%g]", m.Name, m.OutputTokens, float64(maxParam))
		}
	}
	return nil
}

func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// encodeEmbedding is the inverse of the decoding in fromFile.
func encodeEmbedding(e []float32) string {
	raw := make([]byte, 4*len(e))
	for i, v := range e {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// ReferenceModels lists the models the router predicts for, in the order
// of Predict's result.
func (r *Router) ReferenceModels() []string { return append([]string(nil), r.models...) }

// Head returns a reference model's description; ok is false if unknown.
func (r *Router) Head(model string) (ModelHead, bool) {
	i, ok := r.index[model]
	if !ok {
		return ModelHead{}, false
	}
	return r.file.Models[i], true
}

// File returns the router's serialisable form (shared slices: do not modify).
func (r *Router) File() File { return r.file }

// Predict returns each reference model's predicted quality (probability of
// a good answer) on prompt, in ReferenceModels order.
func (r *Router) Predict(prompt string) []float64 {
	return r.PredictWith(prompt, nil)
}

// PredictWith is Predict with the prompt's embedding (of
// EmbeddingText(prompt) by the model Embedding names) for a router trained
// with one; nil, or a vector of the wrong size, predicts without it.
func (r *Router) PredictWith(prompt string, emb []float32) []float64 {
	out := make([]float64, len(r.models))
	s := r.pool.Get().(*scratch)
	defer r.pool.Put(s)
	s.in = emb
	r.represent(prompt, s)
	s.in = nil
	for i := range r.models {
		out[i] = r.headProb(i, s)
	}
	return out
}

// QualityFor is one reference model's predicted quality on prompt; ok is
// false if the router does not know the model.
func (r *Router) QualityFor(prompt, refModel string) (q float64, ok bool) {
	i, ok := r.index[refModel]
	if !ok {
		return 0, false
	}
	s := r.pool.Get().(*scratch)
	defer r.pool.Put(s)
	r.represent(prompt, s)
	return r.headProb(i, s), true
}

// represent computes the standardised dense features and the hidden
// representation h of prompt into s, in float32.
func (r *Router) represent(prompt string, s *scratch) {
	if r.file.Kind == KindDifficulty {
		r.representDifficulty(prompt, s)
		return
	}
	k := r.file.Hidden
	s.grams = sparseFeatures(prompt, uint64(r.file.Dim), s.grams[:0])
	acc := s.acc[:k]
	clear(acc)
	for _, b := range s.grams {
		row := r.emb[int(b)*k : int(b)*k+k]
		for j := range acc {
			acc[j] += row[j]
		}
	}
	denseFeatures(prompt, r.markers, s.dense)
	x := s.dense32[:numDense]
	for j := range x {
		x[j] = zscore(float32(s.dense[j]), r.mean[j], r.invStd[j])
	}
	inv := 1 / float32(max(len(s.grams), 1))
	withEmb := r.eproj != nil && embedInput(s.e, s.in)
	for j := range k {
		v := r.hbias[j] + acc[j]*inv
		p := r.proj[j*numDense : (j+1)*numDense]
		for d := range x {
			v += p[d] * x[d]
		}
		if withEmb {
			ep := r.eproj[j*len(s.e) : (j+1)*len(s.e)]
			for d, e := range s.e {
				v += ep[d] * e
			}
		}
		s.h[j] = float32(math.Tanh(float64(v)))
	}
}

func (r *Router) headProb(i int, s *scratch) float64 {
	if r.file.Kind == KindDifficulty {
		return sigmoid(float64(r.bias[i] + r.w[i]*s.h[0]))
	}
	k := r.file.Hidden
	z := r.bias[i]
	w := r.w[i*k : (i+1)*k]
	for j, h := range s.h[:k] {
		z += w[j] * h
	}
	a := r.a[i*numDense : (i+1)*numDense]
	for j, x := range s.dense32[:numDense] {
		z += a[j] * x
	}
	return sigmoid(float64(z))
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
