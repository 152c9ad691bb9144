package learned

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/learned/dataset"
)

func trainDifficultySynthetic(t testing.TB, target string) *Router {
	t.Helper()
	o := DefaultTrainOptions()
	o.Kind, o.Target, o.MinLeaf, o.Trees = KindDifficulty, target, 10, 20
	r, err := Train([]*dataset.Set{syntheticSet(400)}, o, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDifficultyRouter(t *testing.T) {
	easy := "What is the capital of country number 3? Answer briefly."
	hard := "Prove rigorously that the integral of f over region 7 converges, deriving each bound step by step " +
		"with equations x^2 + y^2 = r^2 and justify every lemma."
	for _, target := range []string{TargetFail, TargetIRT, TargetGap} {
		t.Run(target, func(t *testing.T) {
			a, b := trainDifficultySynthetic(t, target), trainDifficultySynthetic(t, target)
			dir := t.TempDir()
			pa, pb := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
			if err := a.Save(pa); err != nil {
				t.Fatal(err)
			}
			if err := b.Save(pb); err != nil {
				t.Fatal(err)
			}
			ba, _ := os.ReadFile(pa)
			bb, _ := os.ReadFile(pb)
			if !bytes.Equal(ba, bb) {
				t.Fatalf("got different files from the same data, want identical")
			}
			l, err := Load(pa)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{easy, hard} {
				got, want := l.Predict(p), a.Predict(p)
				for i := range want {
					if math.Abs(got[i]-want[i]) > 1e-12 {
						t.Errorf("model %d: got %v after load, want %v", i, got[i], want[i])
					}
				}
			}
			e, h := a.Predict(easy), a.Predict(hard) // models: big, small
			if gotE, gotH := e[0]-e[1], h[0]-h[1]; gotH <= gotE+0.2 {
				t.Errorf("got gap %.3f on the hard prompt and %.3f on the easy one, want the hard one clearly larger", gotH, gotE)
			}
			cands := []Candidate{{Name: "a", RefModel: "big", CostPerCall: 0.01}, {Name: "b", RefModel: "small", CostPerCall: 0.001}}
			if got := a.Choose(hard, cands, Target{Quality: 0.8}); got[0] != "a" {
				t.Errorf("got %v for the hard prompt, want a first", got)
			}
			if got := a.Choose(easy, cands, Target{Quality: 0.8}); got[0] != "b" {
				t.Errorf("got %v for the easy prompt, want b first", got)
			}
		})
	}
}

func TestDifficultyRejectsBadTrees(t *testing.T) {
	r := trainDifficultySynthetic(t, TargetFail)
	tests := []struct {
		name string
		edit func(f *File)
	}{
		{name: "leaf count", edit: func(f *File) { f.Trees[0].Leaf = f.Trees[0].Leaf[:1] }},
		{name: "feature out of range", edit: func(f *File) { f.Trees[0].Feature[0] = numDense }},
		{name: "linear size", edit: func(f *File) { f.Linear = f.Linear[:3] }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := r.File()
			f.Trees = append([]Tree(nil), f.Trees...)
			t0 := f.Trees[0]
			t0.Feature = append([]int(nil), t0.Feature...)
			f.Trees[0] = t0
			tc.edit(&f)
			if _, err := fromFile(f); err == nil {
				t.Errorf("got no error, want one")
			}
		})
	}
}

func TestTreeEval(t *testing.T) {
	tr := Tree{Feature: []int{0, 1, 1}, Threshold: []float64{0, -1, 1}, Leaf: []float64{1, 2, 3, 4}}
	tests := []struct {
		name string
		x    []float32
		want float32
	}{
		{name: "left left", x: []float32{-1, -2}, want: 1},
		{name: "left right", x: []float32{0, 0}, want: 2},
		{name: "right left", x: []float32{1, 1}, want: 3},
		{name: "right right", x: []float32{1, 2}, want: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tr.eval(tc.x); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func BenchmarkChooseDifficulty2000Tokens(b *testing.B) {
	r := trainDifficultySynthetic(b, TargetFail)
	p := longPrompt()
	cands := []Candidate{{Name: "a", RefModel: "big", CostPerCall: 0.005}, {Name: "b", RefModel: "small", CostPerCall: 0.0003}}
	b.ReportAllocs()
	start := processCPU(b)
	for b.Loop() {
		r.Choose(p, cands, Target{Quality: 0.8})
	}
	b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
}
