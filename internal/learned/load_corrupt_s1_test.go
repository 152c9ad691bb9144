package learned

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyFile is a small, valid network router file: dim 4, hidden 2, two
// models, every parameter a small number.
func tinyFile() File {
	const dim, k = 4, 2
	e := make([]float32, dim*k)
	for i := range e {
		e[i] = float32(i%5) / 10
	}
	f := File{Format: FormatVersion, Dim: dim, Hidden: k, Embedding: encodeEmbedding(e),
		DenseMean: make([]float64, numDense), DenseStd: make([]float64, numDense),
		DenseProj: make([]float64, k*numDense), HiddenBias: []float64{0.1, -0.1}}
	for i := range f.DenseStd {
		f.DenseStd[i] = 1
	}
	for _, name := range []string{"big", "small"} {
		f.Models = append(f.Models, ModelHead{Name: name, Set: "s", Bias: 0.2, W: []float64{0.5, -0.5},
			A: make([]float64, numDense), MeanQuality: 0.5, MeanCostUSD: 0.001, OutputTokens: 100})
	}
	return f
}

// tinyFileJSON is tinyFile with edit applied, as JSON; edit works on the
// decoded map so it can write what File's types could not hold.
func tinyFileJSON(t testing.TB, edit func(m map[string]any)) []byte {
	t.Helper()
	b, err := json.Marshal(tinyFile())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	return b
}

func head0(m map[string]any) map[string]any { return m["models"].([]any)[0].(map[string]any) }

// embeddingWith is the tiny file's embedding with element i set to bits.
func embeddingWith(i int, bits uint32) string {
	raw := make([]byte, 4*4*2)
	binary.LittleEndian.PutUint32(raw[4*i:], bits)
	return base64.StdEncoding.EncodeToString(raw)
}

// Audit S1/S2: a damaged router file must be refused with an error naming
// it, never crash the process (the gateway loads router files on reload)
// and never load with parameters that make predictions NaN.
func TestLoadCorruptRouterFiles(t *testing.T) {
	dir := t.TempDir()
	valid := tinyFileJSON(t, nil)
	tests := []struct {
		name string
		body []byte
		want string // part of the error
	}{
		{"dim*hidden*4 wraps to 0 (audit kit)", tinyFileJSON(t, func(m map[string]any) {
			m["dim"], m["hidden"], m["embedding"] = uint64(1)<<62, 1, ""
			m["dense_proj"], m["hidden_bias"] = make([]float64, numDense), []float64{0}
			for _, h := range m["models"].([]any) {
				h.(map[string]any)["w"] = []float64{0}
			}
		}), "at most"},
		{"dim wraps with hidden 2", tinyFileJSON(t, func(m map[string]any) { m["dim"], m["embedding"] = uint64(1)<<61, "" }), "at most"},
		{"huge hidden", tinyFileJSON(t, func(m map[string]any) { m["hidden"] = uint64(1) << 62 }), "at most"},
		{"dim just over the bound", tinyFileJSON(t, func(m map[string]any) { m["dim"] = MaxDim + 1 }), "at most"},
		{"negative dim", tinyFileJSON(t, func(m map[string]any) { m["dim"] = -4 }), "empty router"},
		{"negative hidden", tinyFileJSON(t, func(m map[string]any) { m["hidden"] = -2 }), "empty router"},
		{"embedding truncated", tinyFileJSON(t, func(m map[string]any) { m["embedding"] = m["embedding"].(string)[:8] }), "embedding has"},
		{"embedding not base64", tinyFileJSON(t, func(m map[string]any) { m["embedding"] = "!!!" }), "embedding"},
		{"NaN in the embedding", tinyFileJSON(t, func(m map[string]any) { m["embedding"] = embeddingWith(3, 0x7fc00000) }), "embedding[3]"},
		{"+Inf in the embedding", tinyFileJSON(t, func(m map[string]any) { m["embedding"] = embeddingWith(5, 0x7f800000) }), "embedding[5]"},
		{"weight overflows float32", tinyFileJSON(t, func(m map[string]any) { head0(m)["w"] = []float64{1e39, -1e39} }), "w[0]"},
		{"weight beyond the bound", tinyFileJSON(t, func(m map[string]any) { head0(m)["a"].([]any)[2] = 1e13 }), "a[2]"},
		{"bias overflows float32", tinyFileJSON(t, func(m map[string]any) { head0(m)["bias"] = -1e300 }), "bias[0]"},
		{"hidden bias overflows", tinyFileJSON(t, func(m map[string]any) { m["hidden_bias"] = []float64{1e39, 0} }), "hidden_bias[0]"},
		{"dense proj overflows", tinyFileJSON(t, func(m map[string]any) { m["dense_proj"].([]any)[1] = 1e39 }), "dense_proj[1]"},
		{"dense mean overflows", tinyFileJSON(t, func(m map[string]any) { m["dense_mean"].([]any)[0] = 1e39 }), "dense_mean[0]"},
		{"zero std", tinyFileJSON(t, func(m map[string]any) { m["dense_std"].([]any)[4] = 0 }), "dense_std[4]"},
		{"std whose inverse overflows", tinyFileJSON(t, func(m map[string]any) { m["dense_std"].([]any)[4] = 1e-40 }), "dense_std[4]"},
		{"negative std", tinyFileJSON(t, func(m map[string]any) { m["dense_std"].([]any)[0] = -1 }), "dense_std[0]"},
		{"mean quality out of range", tinyFileJSON(t, func(m map[string]any) { head0(m)["mean_quality"] = 2 }), "mean_quality"},
		{"negative cost", tinyFileJSON(t, func(m map[string]any) { head0(m)["mean_cost_usd"] = -1 }), "mean_cost_usd"},
		{"huge output tokens", tinyFileJSON(t, func(m map[string]any) { head0(m)["output_tokens"] = 1e300 }), "output_tokens"},
		{"prompt embedding dims wrap", tinyFileJSON(t, func(m map[string]any) {
			m["prompt_embedding"] = map[string]any{"model": "e", "dims": uint64(1) << 62, "proj": []float64{}}
		}), "prompt embedding"},
		{"prompt embedding proj overflows", tinyFileJSON(t, func(m map[string]any) {
			m["prompt_embedding"] = map[string]any{"model": "e", "dims": 1, "proj": []float64{1e39, 0}}
		}), "prompt_embedding.proj[0]"},
		{"wrong version", tinyFileJSON(t, func(m map[string]any) { m["format"] = "switchyard-learned-router/v2" }), "unknown format"},
		{"unknown kind", tinyFileJSON(t, func(m map[string]any) { m["kind"] = "forest" }), "unknown router kind"},
		{"no models", tinyFileJSON(t, func(m map[string]any) { m["models"] = []any{} }), "empty router"},
		{"truncated file", valid[:len(valid)/2], "decode"},
		{"empty file", nil, "decode"},
		{"difficulty leaf overflows", difficultyJSON(t, func(f *File) { f.Trees[0].Leaf[1] = 1e39 }), "trees[0].v[1]"},
		{"difficulty slope overflows", difficultyJSON(t, func(f *File) { f.Models[0].Slope = -1e39 }), "slope[0]"},
		{"difficulty linear overflows", difficultyJSON(t, func(f *File) { f.Linear[0] = 1e39 }), "linear[0]"},
		{"difficulty zero std", difficultyJSON(t, func(f *File) { f.DenseStd[0] = 0 }), "dense_std[0]"},
		{"difficulty huge dim", difficultyJSON(t, func(f *File) { f.Dim = 1 << 62 }), "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "router-under-test.json")
			if err := os.WriteFile(p, tt.body, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Load(p)
			if err == nil {
				t.Fatalf("loaded (%d models), want an error", len(r.ReferenceModels()))
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want it to name %s and say %q", err, p, tt.want)
			}
		})
	}
	// The unedited files load and predict.
	for _, b := range [][]byte{valid, difficultyJSON(t, nil)} {
		r, err := decode(b, "valid.json")
		if err != nil {
			t.Fatalf("valid file: %v", err)
		}
		checkPredictions(t, r, "What is 2+2?")
	}
}

// difficultyJSON is a small difficulty router file with edit applied.
func difficultyJSON(t testing.TB, edit func(f *File)) []byte {
	t.Helper()
	f := File{Format: FormatVersion, Kind: KindDifficulty, Dim: 1, Hidden: 1,
		DenseMean: make([]float64, numDense), DenseStd: make([]float64, numDense), Linear: make([]float64, numDense+1),
		Trees:  []Tree{{Feature: []int{0}, Threshold: []float64{0.5}, Leaf: []float64{-0.1, 0.1}}},
		Models: []ModelHead{{Name: "big", Bias: 1, Slope: -1, W: []float64{}, A: []float64{}, MeanQuality: 0.7}}}
	for i := range f.DenseStd {
		f.DenseStd[i] = 1
	}
	if edit != nil {
		edit(&f)
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkPredictions(t testing.TB, r *Router, prompt string) {
	t.Helper()
	for i, q := range r.Predict(prompt) {
		if !(q >= 0 && q <= 1) {
			t.Fatalf("prediction %d for %q is %g, want a probability", i, prompt, q)
		}
	}
}

// FuzzLoadRouterFile: no input makes the loader panic (fromFile is called
// directly, without decode's recover), and a file that loads predicts
// probabilities, never NaN.
func FuzzLoadRouterFile(f *testing.F) {
	f.Add(tinyFileJSON(f, nil))
	f.Add(difficultyJSON(f, nil))
	f.Add(tinyFileJSON(f, func(m map[string]any) { m["dim"], m["embedding"] = uint64(1)<<62, "" }))
	f.Add(tinyFileJSON(f, func(m map[string]any) { head0(m)["w"] = []float64{1e38, -1e38} }))
	f.Add(tinyFileJSON(f, func(m map[string]any) {
		m["prompt_embedding"] = map[string]any{"model": "e", "dims": 3, "proj": []float64{1, 2, 3, 4, 5, 6}}
	}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var file File
		if json.Unmarshal(b, &file) != nil {
			return
		}
		r, err := fromFile(file)
		if err != nil {
			return
		}
		for _, p := range []string{"", "hi", strings.Repeat("Prove that x^2 >= 0. ", 40)} {
			checkPredictions(t, r, p)
			emb := make([]float32, max(0, len(r.eproj)/max(1, r.file.Hidden)))
			for i := range emb {
				emb[i] = float32(math.Sin(float64(i)))
			}
			for _, q := range r.PredictWith(p, emb) {
				if !(q >= 0 && q <= 1) {
					t.Fatalf("prediction with embedding for %q is %g", p, q)
				}
			}
		}
	})
}
