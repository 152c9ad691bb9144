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
