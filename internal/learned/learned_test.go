package learned

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/learned/dataset"
)

// dataRoot is shared/data/routing beside the checkout (CI: ../shared).
func dataRoot(t testing.TB) string {
	t.Helper()
	root := filepath.Join("..", "..", "..", "shared", "data", "routing")
	if _, err := os.Stat(filepath.Join(root, "routerbench_0shot_subset", "scores.csv")); err != nil {
		t.Skipf("routing data not found at %s: %v", root, err)
	}
	return root
}

// syntheticSet has easy prompts (both models right) and hard prompts (only
// the strong model right), with different vocabularies and lengths.
func syntheticSet(n int) *dataset.Set {
	s := &dataset.Set{Name: "synthetic", Models: []string{"big", "small"}, CostMeasured: true}
	for i := range n {
		var p dataset.Prompt
		p.ID = fmt.Sprintf("p%d", i)
		var q []float64
		if i%2 == 0 {
			p.Text = fmt.Sprintf("What is the capital of country number %d? Answer briefly.", i)
			q = []float64{1, 1}
		} else {
			p.Text = fmt.Sprintf("Prove rigorously that the integral of f over region %d converges, "+
				"deriving each bound step by step with equations x^2 + y^2 = r^2 and justify every lemma.", i)
			q = []float64{1, 0}
		}
		// A few hard prompts that the small model gets right, so predictions
		// are graded rather than 0/1.
		if i%10 == 3 {
			q[1] = 1
		}
		s.Prompts = append(s.Prompts, p)
		s.Quality = append(s.Quality, q)
		s.Cost = append(s.Cost, []float64{0.01, 0.001})
		s.OutChars = append(s.OutChars, []float64{400, 400})
	}
	return s
}

func trainSynthetic(t testing.TB) *Router {
	t.Helper()
	o := DefaultTrainOptions()
	o.Dim, o.Epochs = 1<<10, 6
	r, err := Train([]*dataset.Set{syntheticSet(400)}, o, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestChooseEasyCheapHardExpensive(t *testing.T) {
	r := trainSynthetic(t)
	cands := []Candidate{
		{Name: "dep-big", RefModel: "big", CostPerCall: 0.01},
		{Name: "dep-small", RefModel: "small", CostPerCall: 0.001},
		{Name: "dep-unknown", RefModel: "nope", CostPerCall: 0.0001},
	}
	tests := []struct {
		name, prompt string
		target       Target
		want         []string
	}{
		{"easy, quality target", "What is the capital of country number 7? Answer briefly.", Target{Quality: 0.7},
			[]string{"dep-small", "dep-big", "dep-unknown"}},
		{"hard, quality target", "Prove rigorously that the integral of f over region 9 converges, deriving each bound step by step with equations x^2 + y^2 = r^2 and justify every lemma.", Target{Quality: 0.7},
			[]string{"dep-big", "dep-small", "dep-unknown"}},
		{"easy, willingness to pay", "What is the capital of country number 7? Answer briefly.", Target{WillingnessToPay: 0.05},
			[]string{"dep-small", "dep-big", "dep-unknown"}},
		{"hard, willingness to pay", "Prove rigorously that the integral of f over region 9 converges, deriving each bound step by step with equations x^2 + y^2 = r^2 and justify every lemma.", Target{WillingnessToPay: 0.05},
			[]string{"dep-big", "dep-small", "dep-unknown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Choose(tt.prompt, cands, tt.target)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// expensiveShare is the share of prompts for which the first choice is the
// expensive deployment.
func expensiveShare(r *Router, prompts []string, target Target) float64 {
	cands := []Candidate{{Name: "cheap", RefModel: "small", CostPerCall: 0.001}, {Name: "dear", RefModel: "big", CostPerCall: 0.01}}
	n := 0
	for _, p := range prompts {
		if r.Choose(p, cands, target)[0] == "dear" {
			n++
		}
	}
	return float64(n) / float64(len(prompts))
}

func TestTargetMovesExpensiveShareMonotonically(t *testing.T) {
	r := trainSynthetic(t)
	var prompts []string
	for _, p := range syntheticSet(200).Prompts {
		prompts = append(prompts, p.Text)
	}
	t.Run("quality target", func(t *testing.T) {
		prev := -1.0
		for q := 0.0; q <= 1.0001; q += 0.05 {
			s := expensiveShare(r, prompts, Target{Quality: q})
			if s < prev {
				t.Fatalf("quality %.2f: got share %v, want >= %v", q, s, prev)
			}
			prev = s
		}
		if lo, hi := expensiveShare(r, prompts, Target{Quality: 0.01}), expensiveShare(r, prompts, Target{Quality: 0.95}); lo != 0 || hi < 0.4 {
			t.Errorf("got shares %v..%v, want 0 at a low target and >= 0.4 at a high one", lo, hi)
		}
	})
	t.Run("willingness to pay", func(t *testing.T) {
		prev := -1.0
		for w := 0.001; w < 10; w *= 1.5 {
			s := expensiveShare(r, prompts, Target{WillingnessToPay: w})
			if s < prev {
				t.Fatalf("wtp %.4f: got share %v, want >= %v", w, s, prev)
			}
			prev = s
		}
	})
}

func TestTrainDeterministicAndRoundTrip(t *testing.T) {
	a, b := trainSynthetic(t), trainSynthetic(t)
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
		t.Fatalf("got different files for the same seed, want identical")
	}
	l, err := Load(pa)
	if err != nil {
		t.Fatal(err)
	}
	p := "What is the capital of country number 3? Answer briefly."
	got, want := l.Predict(p), a.Predict(p)
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("model %d: got %v after load, want %v", i, got[i], want[i])
		}
	}
	o := DefaultTrainOptions()
	o.Dim, o.Epochs, o.Seed = 1<<10, 6, 99
	c, err := Train([]*dataset.Set{syntheticSet(400)}, o, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.file.Embedding == a.file.Embedding {
		t.Errorf("got the same embedding for seeds 1 and 99, want different")
	}
}

func TestFamilyKey(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"org and chat", "mistralai/mixtral-8x7b-chat", "mixtral-8x7b"},
		{"instruct version", "mixtral-8x7b-instruct-v0.1", "mixtral-8x7b"},
		{"gpt-4 date", "gpt-4-1106-preview", "gpt-4"},
		{"plain", "gpt-4", "gpt-4"},
		{"size kept", "meta/llama-2-70b-chat", "llama-2-70b"},
		{"turbo", "gpt-4-turbo", "gpt-4"},
		{"turbo date", "gpt-3.5-turbo-0613", "gpt-3.5"},
		{"generation", "claude-v2", "claude-2"},
		{"generation as a number", "claude-2", "claude-2"},
		{"release version", "claude-instant-v1", "claude-instant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FamilyKey(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, body string }{
		{"not json", "{"},
		{"wrong format", `{"format":"other"}`},
		{"empty", `{"format":"` + FormatVersion + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "r.json")
			if err := os.WriteFile(p, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(p); err == nil {
				t.Errorf("got nil error, want one")
			}
		})
	}
}

// defaultTrainArgs is the documented command that makes routers/default.json.
func defaultTrainArgs(root, out string) []string {
	return []string{
		"--data", filepath.Join(root, "routerbench_0shot_subset"),
		"--data", filepath.Join(root, "routerdc_7models"),
		"--data", filepath.Join(root, "llmrouter_uiuc_9models"),
		"--out", out,
	}
}

func TestDefaultRouterReproducible(t *testing.T) {
	root := dataRoot(t)
	if testing.Short() {
		t.Skip("retraining the default router takes seconds")
	}
	out := filepath.Join(t.TempDir(), "router.json")
	var so, se bytes.Buffer
	if code := TrainMain(defaultTrainArgs(root, out), &so, &se); code != 0 {
		t.Fatalf("train: got exit %d, want 0: %s", code, se.String())
	}
	got, _ := os.ReadFile(out)
	want, err := os.ReadFile(filepath.Join("..", "..", "routers", "default.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("retrained router differs from routers/default.json (%d vs %d bytes)", len(got), len(want))
	}
	if len(want) > 3<<20 {
		t.Errorf("got %d bytes, want under 3 MB", len(want))
	}
}

func TestDefaultRouterEvalMatchesDocs(t *testing.T) {
	root := dataRoot(t)
	args := []string{"--router", filepath.Join("..", "..", "routers", "default.json"), "--split", "validation", "--json"}
	for _, s := range []string{"routerbench_0shot_subset", "routerdc_7models", "llmrouter_uiuc_9models"} {
		args = append(args, "--data", filepath.Join(root, s))
	}
	var so, se bytes.Buffer
	if code := EvalMain(args, &so, &se); code != 0 {
		t.Fatalf("eval: got exit %d, want 0: %s", code, se.String())
	}
	want, err := os.ReadFile(filepath.Join("testdata", "default_validation.json"))
	if err != nil {
		t.Fatal(err)
	}
	if so.String() != string(want) {
		t.Errorf("eval output differs from testdata/default_validation.json (the figures in docs/learned-router.md)")
	}
}

func TestEvalMainText(t *testing.T) {
	root := dataRoot(t)
	var so, se bytes.Buffer
	code := EvalMain([]string{"--router", filepath.Join("..", "..", "routers", "default.json"),
		"--data", filepath.Join(root, "routerbench_0shot_subset"), "--split", "validation"}, &so, &se)
	if code != 0 {
		t.Fatalf("got exit %d, want 0: %s", code, se.String())
	}
	for _, want := range []string{"APGR", "CPT(50%)", "AIQ", "oracle", "random"} {
		if !strings.Contains(so.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func longPrompt() string {
	var b strings.Builder
	for i := 0; b.Len() < 8000; i++ { // about 2,000 tokens
		fmt.Fprintf(&b, "Question %d: if x = %d and y^2 = x + 3, explain step by step what y is; the function f(x) returns x*2. ", i, i*7)
	}
	return b.String()
}

func BenchmarkChoose2000Tokens(b *testing.B) {
	r, err := Load(filepath.Join("..", "..", "routers", "default.json"))
	if err != nil {
		b.Skip(err)
	}
	p := longPrompt()
	cands := []Candidate{{Name: "a", RefModel: "gpt-4-1106-preview", CostPerCall: 0.005}, {Name: "b", RefModel: "mistralai/mixtral-8x7b-chat", CostPerCall: 0.0003}}
	b.ReportAllocs()
	start := processCPU(b)
	for b.Loop() {
		r.Choose(p, cands, Target{Quality: 0.8})
	}
	b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
}

func BenchmarkLoadDefault(b *testing.B) {
	path := filepath.Join("..", "..", "routers", "default.json")
	if _, err := os.Stat(path); err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}

func TestChooseAllocatesOnlyTheResult(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers at random")
	}
	r := trainSynthetic(t)
	p := longPrompt()
	cands := []Candidate{{Name: "a", RefModel: "big", CostPerCall: 0.01}, {Name: "b", RefModel: "small", CostPerCall: 0.001}}
	r.Choose(p, cands, Target{Quality: 0.8}) // warm the pool
	if got := testing.AllocsPerRun(50, func() { r.Choose(p, cands, Target{Quality: 0.8}) }); got > 1 {
		t.Errorf("got %v allocations per Choose, want at most 1 (the result)", got)
	}
}

func TestFeatureWindowAndEscapes(t *testing.T) {
	long := strings.Repeat("a", windowHead+10) + "é" + strings.Repeat("b", windowTail+10)
	tests := []struct {
		name, text         string
		wantHead, wantTail int
	}{
		{"short prompt is whole", "hello", 5, 0},
		{"long prompt is head and tail", long, windowHead, windowTail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, tl := window(tt.text)
			if len(h) != tt.wantHead || len(tl) != tt.wantTail {
				t.Errorf("got %d+%d bytes, want %d+%d", len(h), len(tl), tt.wantHead, tt.wantTail)
			}
		})
	}
	// A prompt stored with escaped line breaks has the same n-grams and
	// multiple-choice count as the raw prompt.
	raw, esc := "Which?\nA) one\nB) two", `Which?\nA) one\nB) two`
	gr, ge := sparseFeatures(raw, 1<<12, nil), sparseFeatures(esc, 1<<12, nil)
	if fmt.Sprint(gr) != fmt.Sprint(ge) {
		t.Errorf("got grams %v for the escaped prompt, want %v", ge, gr)
	}
	mk := newMarkerTable()
	dr, de := make([]float64, numDense), make([]float64, numDense)
	denseFeatures(raw, mk, dr)
	denseFeatures(esc, mk, de)
	if dr[10] == 0 || dr[10] != de[10] {
		t.Errorf("got multiple-choice feature %v (escaped) and %v (raw), want equal and > 0", de[10], dr[10])
	}
	if got, want := lastBlock("ex one\n\nex two\\n\\nthe question"), "the question"; got != want {
		t.Errorf("lastBlock: got %q, want %q", got, want)
	}
}

// A prompt unlike every training prompt (Chinese text, a line of a million
// digits, when training saw short English only) must not push a dense
// feature thousands of standard deviations out, which saturated every
// prediction to 0 or 1 before dense features were clipped.
func TestUnseenPromptStaysCalibrated(t *testing.T) {
	for _, r := range []*Router{trainSynthetic(t), trainDifficultySynthetic(t, TargetFail)} {
		for _, p := range []string{
			strings.Repeat("请证明这个积分收敛，并逐步推导每一个界。", 20),
			strings.Repeat("7", 1<<20),
			strings.Repeat("ALL CAPS!!! ", 500),
		} {
			s := r.pool.Get().(*scratch)
			r.represent(p, s)
			for j, x := range s.dense32[:numDense] {
				if x < -denseClip || x > denseClip {
					t.Errorf("%s: dense feature %d of %.20q: got %g, want within ±%v", r.file.Kind, j, p, x, denseClip)
				}
			}
			r.pool.Put(s)
			if r.file.Kind == KindDifficulty {
				continue // its synthetic "big" model is always right: P(good) 1 is correct
			}
			for m, q := range r.Predict(p) {
				if q < 1e-3 || q > 1-1e-3 {
					t.Errorf("%s: model %d on %.20q: got P(good) %g, want not saturated", r.file.Kind, m, p, q)
				}
			}
		}
	}
}

// ByTask evaluates each task alone with the set's pair: on the synthetic
// set split into two tasks that each mix easy and hard prompts, the router
// that separates them must rank well within each task, and every prompt
// must be counted once.
func TestByTask(t *testing.T) {
	r := trainSynthetic(t)
	s := syntheticSet(200)
	for i := range s.Prompts {
		s.Prompts[i].Task = []string{"alpha", "beta"}[i%4/2]
	}
	rep := Evaluate(r, s, "all", EvalOptions{Strong: "big", Weak: "small"})
	ByTask(r, s, &rep, EvalOptions{})
	if len(rep.Tasks) != 2 || rep.Tasks[0].Task != "alpha" || rep.Tasks[1].Task != "beta" {
		t.Fatalf("got tasks %+v, want alpha then beta", rep.Tasks)
	}
	var n int
	for _, tr := range rep.Tasks {
		n += tr.Prompts
		if tr.Router.APGR < 0.7 || tr.Router.APGR > tr.Oracle.APGR+1e-9 {
			t.Errorf("task %s: got APGR %.3f (oracle %.3f), want at least 0.7 (random 0.5) and at most the oracle", tr.Task, tr.Router.APGR, tr.Oracle.APGR)
		}
		if tr.QStrong != 1 {
			t.Errorf("task %s: got strong quality %v, want 1", tr.Task, tr.QStrong)
		}
	}
	if n != len(s.Prompts) {
		t.Errorf("got %d prompts over the tasks, want %d", n, len(s.Prompts))
	}
	// A task where the pair scores the same has no PGR and is left out.
	one := s.Subset(func(i int) bool { return i%2 == 0 }) // easy prompts only: both right
	rep = Evaluate(r, one, "all", EvalOptions{Strong: "big", Weak: "small"})
	ByTask(r, one, &rep, EvalOptions{})
	if len(rep.Tasks) != 0 {
		t.Errorf("got %d task rows for tasks with equal quality, want 0", len(rep.Tasks))
	}
}

func TestEvalMainByTask(t *testing.T) {
	root := dataRoot(t)
	var so, se bytes.Buffer
	code := EvalMain([]string{"--router", filepath.Join("..", "..", "routers", "default.json"), "--by-task", "--json",
		"--data", filepath.Join(root, "routerbench_0shot_subset"), "--split", "validation"}, &so, &se)
	if code != 0 {
		t.Fatalf("got exit %d, want 0: %s", code, se.String())
	}
	var reps []SetReport
	if err := json.Unmarshal(so.Bytes(), &reps); err != nil {
		t.Fatal(err)
	}
	var tasks []string
	n := 0
	for _, tr := range reps[0].Tasks {
		tasks = append(tasks, tr.Task)
		n += tr.Prompts
	}
	if got := strings.Join(tasks, ","); got != "arc-challenge,mbpp,winogrande" {
		t.Errorf("got tasks %s, want arc-challenge,mbpp,winogrande (order of first appearance)", got)
	}
	if n != reps[0].Two.Prompts {
		t.Errorf("got %d prompts over the tasks, want the set's %d", n, reps[0].Two.Prompts)
	}
}

// A set whose costs are partly unknown still gets a many-model view: a
// model with a reference model is costed at that model's mean cost per call
// in the router; one with neither is left out, and with fewer than two
// priced models the report says why instead of printing zeros.
func TestEvaluateWithoutCosts(t *testing.T) {
	r := trainSynthetic(t)
	s := syntheticSet(60)
	s.Models = []string{"big", "small", "stranger"}
	for i := range s.Prompts {
		s.Quality[i] = append(s.Quality[i], 0.5)
		s.Cost[i] = []float64{math.NaN(), 0.001, math.NaN()}
		s.OutChars[i] = append(s.OutChars[i], math.NaN())
	}
	rep := Evaluate(r, s, "all", EvalOptions{})
	m := rep.Many
	if m == nil {
		t.Fatalf("got no many-model view, notes %q", rep.Notes)
	}
	big, _ := r.Head("big")
	if !slices.Equal(m.Models, []string{"big", "small"}) || !slices.Equal(m.CostFromRef, []string{"big"}) ||
		!slices.Equal(m.Unpriced, []string{"stranger"}) || m.Prompts != 60 || m.BestSingle != "big" ||
		math.Abs(m.BestCost-big.MeanCostUSD) > 1e-9 {
		t.Errorf("got models %v, from ref %v, unpriced %v, %d prompts, best %s at %g; want [big small], [big], [stranger], 60, big at %g",
			m.Models, m.CostFromRef, m.Unpriced, m.Prompts, m.BestSingle, m.BestCost, big.MeanCostUSD)
	}
	if m.Router.AIQ <= 0 || !m.Router.Reached {
		t.Errorf("got router row %+v, want a reached cost and a positive AIQ", m.Router)
	}
	// The caller's set is not modified.
	if !math.IsNaN(s.Cost[0][0]) {
		t.Errorf("Evaluate wrote cost %g into the data set", s.Cost[0][0])
	}

	for i := range s.Prompts {
		s.Cost[i][1] = math.NaN()
	}
	s.Models[0] = "giant" // no reference model either
	rep = Evaluate(r, s, "all", EvalOptions{})
	if rep.Many != nil || len(rep.Notes) != 2 || !strings.Contains(rep.Notes[0], "no reference model for giant, stranger") ||
		!strings.Contains(rep.Notes[1], "no cost for giant, stranger") {
		t.Errorf("got many-model %+v, notes %q; want none, and notes naming giant and stranger as unmapped and unpriced", rep.Many, rep.Notes)
	}
	s.Models[1] = "tiny"
	none := Evaluate(r, s, "all", EvalOptions{})
	if len(none.Notes) == 0 || !strings.Contains(none.Notes[0], "none of the set's models maps") || !strings.Contains(none.Notes[0], "giant, tiny, stranger") {
		t.Errorf("got notes %q, want the first to say no model maps, naming them", none.Notes)
	}
	mapped := Evaluate(r, s, "all", EvalOptions{Map: map[string]string{"giant": "big", "tiny": "small", "stranger": "small"}})
	for _, n := range mapped.Notes {
		if strings.Contains(n, "reference model") {
			t.Errorf("got note %q with every model mapped by --map", n)
		}
	}
	s.Models[1] = "small"
	var out bytes.Buffer
	printReport(&out, rep)
	if !strings.Contains(out.String(), "no many-model view") || strings.Contains(out.String(), "best single") {
		t.Errorf("report:\n%s\nwant the note and no many-model table", out.String())
	}
}
