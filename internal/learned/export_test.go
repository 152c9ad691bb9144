package learned

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/learned/dataset"
)

// writeExport writes a data folder in the shape `switchyard route export`
// gives: one row per rated request, so one model per prompt (the deployment
// that answered it). Even prompts are maths, odd ones haikus; sim-medium
// answers every third prompt. A model's quality is high on its strength
// (sim-medium: maths, sim-small: haikus) and low otherwise.
func writeExport(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "export")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var p, s strings.Builder
	p.WriteString("prompt_id,split,task,prompt\n")
	s.WriteString("prompt_id,model,quality,quality_raw,cost_usd,output_chars\n")
	for i := range n {
		id := fmt.Sprintf("req_%024x", i*7919+13)
		text := fmt.Sprintf("Write a haiku about trains, number %d", i)
		if i%2 == 0 {
			text = fmt.Sprintf("Solve x^2 + %d x = 7 step by step", i)
		}
		m, cost := "sim-small", "0.000027"
		if i%3 == 0 {
			m, cost = "sim-medium", "0.00011"
		}
		q := "0.2"
		if (m == "sim-medium") == (i%2 == 0) {
			q = "0.9"
		}
		fmt.Fprintf(&p, "%s,train,ab,%q\n", id, text)
		fmt.Fprintf(&s, "%s,%s,%s,%s,%s,\n", id, m, q, q, cost)
	}
	for name, body := range map[string]string{"prompts.csv": p.String(), "scores.csv": s.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// route train on exported data (one model per prompt) writes the router,
// with a validation summary that is valid JSON, and route eval --json on it
// prints valid JSON: with no prompt that has two models' results the
// two-model view is left out with a note saying why, instead of NaN CPTs
// that JSON cannot hold.
func TestTrainEvalOnExportShapedData(t *testing.T) {
	data := writeExport(t, 60)
	set, err := dataset.Load(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	nval := 0
	for _, p := range set.Prompts {
		if dataset.IsValidation(p.ID, DefaultTrainOptions().Holdout) {
			nval++
		}
	}
	if nval == 0 {
		t.Fatal("fixture has no validation prompt: the test would not evaluate one")
	}
	out := filepath.Join(t.TempDir(), "router.json")
	var so, se bytes.Buffer
	if code := TrainMain([]string{"--data", data, "--out", out, "--dim", "1024"}, &so, &se); code != 0 {
		t.Fatalf("train: got exit %d, want 0: %s", code, se.String())
	}
	if strings.Contains(so.String(), "NaN") {
		t.Errorf("train output prints NaN:\n%s", so.String())
	}
	r, err := Load(out)
	if err != nil {
		t.Fatalf("router file: %v", err)
	}
	var val []SetReport
	if err := json.Unmarshal(r.file.Training.Validation, &val); err != nil || len(val) != 1 {
		t.Fatalf("validation summary %s: %v, want one set report", r.file.Training.Validation, err)
	}
	if val[0].Two != nil || !hasNote(val[0].Notes, "no prompt has results of both sim-") {
		t.Errorf("validation summary: got two-model view %+v, notes %q; want none, and a note saying no prompt has both models", val[0].Two, val[0].Notes)
	}

	so.Reset()
	se.Reset()
	if code := EvalMain([]string{"--router", out, "--data", data, "--json"}, &so, &se); code != 0 {
		t.Fatalf("eval --json: got exit %d, want 0: %s", code, se.String())
	}
	var reps []SetReport
	if err := json.Unmarshal(so.Bytes(), &reps); err != nil || len(reps) != 1 {
		t.Fatalf("eval --json printed %q: %v, want one set report", so.String(), err)
	}
	if reps[0].Two != nil || reps[0].LogLoss == nil || reps[0].LogLoss.Cells != 60 {
		t.Errorf("eval --json: got two-model view %+v, log-loss %+v; want no two-model view and log-loss over 60 cells", reps[0].Two, reps[0].LogLoss)
	}

	so.Reset()
	if code := EvalMain([]string{"--router", out, "--data", data}, &so, &se); code != 0 {
		t.Fatalf("eval: got exit %d, want 0: %s", code, se.String())
	}
	if txt := so.String(); strings.Contains(txt, "NaN") || strings.Contains(txt, "two-model:") || !strings.Contains(txt, "no two-model view") {
		t.Errorf("eval text:\n%s\nwant no NaN and no two-model table, and the note why", txt)
	}
}

func hasNote(notes []string, part string) bool {
	for _, n := range notes {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

// No data set, however degenerate, gives a report that JSON cannot hold
// (NaN or ±Inf): where a metric is undefined the view is left out with a
// note.
func TestEvaluateDegenerateSetsEncode(t *testing.T) {
	r := trainSynthetic(t)
	nan := math.NaN()
	mk := func(models []string, q, c [][]float64) *dataset.Set {
		s := &dataset.Set{Name: "degenerate", Models: models, Quality: q, Cost: c}
		for i := range q {
			s.Prompts = append(s.Prompts, dataset.Prompt{ID: fmt.Sprint(i), Text: fmt.Sprintf("prompt number %d", i)})
			s.OutChars = append(s.OutChars, make([]float64, len(models)))
		}
		return s
	}
	cases := []struct {
		name string
		set  *dataset.Set
		note string
	}{
		{"one model per prompt", mk([]string{"big", "small"},
			[][]float64{{1, nan}, {nan, 0}, {0, nan}, {nan, 1}},
			[][]float64{{0.01, nan}, {nan, 0.001}, {0.01, nan}, {nan, 0.001}}),
			"no prompt has results of both big and small"},
		{"same quality", mk([]string{"big", "small"},
			[][]float64{{1, 0}, {0, 1}, {1, 1}},
			[][]float64{{0.01, 0.001}, {0.01, 0.001}, {0.01, 0.001}}),
			"same mean quality (0.667) on the 3 prompts"},
		{"three models, none complete", mk([]string{"big", "small", "other"},
			[][]float64{{1, 0, nan}, {nan, 1, 0}, {1, nan, 1}},
			[][]float64{{0.01, 0.001, nan}, {nan, 0.001, 0.002}, {0.01, nan, 0.002}}),
			"no many-model view: no prompt has the results and costs of all 3 models"},
		{"free models", mk([]string{"big", "small", "other"},
			[][]float64{{1, 0, 1}, {1, 1, 0}, {1, 0, 0}},
			[][]float64{{0, 0, 0}, {0, 0, 0}, {0, 0, 0}}),
			""},
	}
	for _, c := range cases {
		rep := Evaluate(r, c.set, "all", EvalOptions{Strong: "big", Weak: "small"})
		if _, err := json.Marshal(rep); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.note != "" && !hasNote(rep.Notes, c.note) {
			t.Errorf("%s: got notes %q, want one containing %q", c.name, rep.Notes, c.note)
		}
		var w bytes.Buffer
		printReport(&w, rep)
		if strings.Contains(w.String(), "NaN") || strings.Contains(w.String(), "Inf") {
			t.Errorf("%s: report prints NaN or Inf:\n%s", c.name, w.String())
		}
	}
}

// The per-model view on a hand-made set, with hand-made predictions:
// model a (router column 0), b (column 1) and c (no reference model: its
// score is the mean of the prompt's predictions), each with results on
// its own prompts only; d has none.
func TestPerModelHandComputed(t *testing.T) {
	nan := math.NaN()
	s := &dataset.Set{Models: []string{"a", "b", "c", "d"},
		Quality: [][]float64{
			{1, nan, nan, nan}, {0, nan, nan, nan}, {1, nan, nan, nan},
			{nan, 0.5, nan, nan}, {nan, 0.5, nan, nan},
			{nan, nan, 0.8, nan}, {nan, nan, 0.2, nan},
		},
		Cost: [][]float64{
			{0.02, nan, nan, nan}, {nan, nan, nan, nan}, {0.01, nan, nan, nan},
			{nan, 0.001, nan, nan}, {nan, 0.003, nan, nan},
			{nan, nan, nan, nan}, {nan, nan, nan, nan},
		},
	}
	s.Prompts = make([]dataset.Prompt, len(s.Quality))
	preds := [][]float64{{0.9, 0.5}, {0.3, 0.5}, {0.2, 0.5}, {0.5, 0.6}, {0.5, 0.4}, {0.6, 0.8}, {0.2, 0.4}}
	got := perModel(s, []string{"ra", "rb", "", ""}, []int{0, 1, -1, -1}, preds)
	f := func(v float64) *float64 { return &v }
	want := []ModelRow{
		// a: quality 2/3; predicted (0.9+0.3+0.2)/3; cost of the two
		// prompts with one (0.02+0.01)/2; of its pairs with different
		// quality, (0,1) is ranked right and (1,2) wrong: AUC 0.5.
		{Model: "a", Ref: "ra", Prompts: 3, Quality: 0.666667, Predicted: f(0.466667), CostUSD: f(0.015), AUC: f(0.5)},
		// b: both results 0.5, nothing to rank.
		{Model: "b", Ref: "rb", Prompts: 2, Quality: 0.5, Predicted: f(0.5), CostUSD: f(0.002)},
		// c: scores 0.7 and 0.3 rank 0.8 above 0.2: AUC 1; no prediction
		// and no cost.
		{Model: "c", Prompts: 2, Quality: 0.5, AUC: f(1)},
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("got  %s\nwant %s", gj, wj)
	}
	if !mostlySingle(s) {
		t.Error("mostlySingle: got false for a set with one result per prompt")
	}
	two := &dataset.Set{Models: []string{"a", "b"}, Prompts: make([]dataset.Prompt, 4),
		Quality: [][]float64{{1, 0}, {1, 1}, {1, nan}, {nan, 0}}}
	if mostlySingle(two) {
		t.Error("mostlySingle: got true for a set where half the prompts have two results")
	}
}

// Exported data gets the per-model view in route eval and in the
// validation summary of route train, figures computed by hand from
// writeExport; data with several results per prompt gets it with
// --per-model only.
func TestPerModelOnExport(t *testing.T) {
	data := writeExport(t, 60)
	out := filepath.Join(t.TempDir(), "router.json")
	var so, se bytes.Buffer
	if code := TrainMain([]string{"--data", data, "--out", out, "--dim", "1024"}, &so, &se); code != 0 {
		t.Fatalf("train: got exit %d, want 0: %s", code, se.String())
	}
	if !strings.Contains(so.String(), "per model") {
		t.Errorf("train output lacks the per-model view:\n%s", so.String())
	}
	so.Reset()
	if code := EvalMain([]string{"--router", out, "--data", data, "--json"}, &so, &se); code != 0 {
		t.Fatalf("eval --json: got exit %d, want 0: %s", code, se.String())
	}
	var reps []SetReport
	if err := json.Unmarshal(so.Bytes(), &reps); err != nil || len(reps) != 1 {
		t.Fatalf("eval --json printed %q: %v", so.String(), err)
	}
	pm := reps[0].PerModel
	// sim-medium answers every third prompt (20), sim-small the rest (40);
	// each is right (0.9) on half of its prompts and wrong (0.2) on the
	// other half: mean 0.55.
	if len(pm) != 2 || pm[0].Model != "sim-medium" || pm[0].Prompts != 20 || pm[1].Model != "sim-small" || pm[1].Prompts != 40 {
		t.Fatalf("got per-model rows %+v, want sim-medium on 20 prompts and sim-small on 40", pm)
	}
	for k, cost := range []float64{0.00011, 0.000027} {
		m := pm[k]
		if m.Quality != 0.55 || m.Ref != m.Model || m.CostUSD == nil || *m.CostUSD != cost || m.Predicted == nil || m.AUC == nil {
			t.Errorf("%s: got %+v, want quality 0.55, itself as reference, cost %g, a prediction and an AUC", m.Model, m, cost)
			continue
		}
		// Each model is right on one kind of prompt (maths or haikus),
		// which the router sees in the text.
		if *m.AUC < 0.9 {
			t.Errorf("%s: got AUC %v on its training prompts, want at least 0.9", m.Model, *m.AUC)
		}
	}

	r := trainSynthetic(t)
	s := syntheticSet(40)
	if rep := Evaluate(r, s, "all", EvalOptions{}); rep.PerModel != nil {
		t.Errorf("two results per prompt: got per-model view %+v without asking, want none", rep.PerModel)
	}
	rep := Evaluate(r, s, "all", EvalOptions{PerModel: true})
	if len(rep.PerModel) != 2 || rep.PerModel[0].Prompts != 40 || rep.PerModel[0].Quality != 1 {
		t.Errorf("--per-model: got %+v, want two rows, big on 40 prompts with quality 1", rep.PerModel)
	}
}
