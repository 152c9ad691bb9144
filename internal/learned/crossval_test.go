package learned

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/learned/dataset"
)

func TestTaskKey(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"dash", "arc-challenge", "arcchallenge"},
		{"underscore", "ARC_Challenge", "arcchallenge"},
		{"human eval", "human_eval", "humaneval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TaskKey(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// taskedSets is syntheticSet split into two data sets, each with two tasks.
func taskedSets() []*dataset.Set {
	var out []*dataset.Set
	for k, name := range []string{"one", "two"} {
		s := syntheticSet(240)
		s.Name = name
		for i := range s.Prompts {
			s.Prompts[i].ID = name + s.Prompts[i].ID
			s.Prompts[i].Task = []string{"task-a", "Task_B"}[(i/2+k)%2]
		}
		out = append(out, s)
	}
	return out
}

func TestCrossValidate(t *testing.T) {
	o := DefaultTrainOptions()
	o.Dim, o.Epochs = 1<<10, 6
	tests := []struct {
		name      string
		by        string
		wantFolds string
	}{
		{"leave one task out", "task", "taska,taska,taskb,taskb"},
		{"leave one set out", "set", "one,two"},
		// The same task stays in training from the other set.
		{"leave one task of one set out", "settask", "one/taska,one/taskb,two/taska,two/taskb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			res, err := CrossValidate(taskedSets(), o, tt.by, 50, &log)
			if err != nil {
				t.Fatal(err)
			}
			var folds []string
			for _, r := range res {
				folds = append(folds, r.Fold)
				// The held-out prompts share the vocabulary of the training
				// ones, so the router must rank them far better than random (0.5; the oracle is about 0.77).
				if r.APGR < 0.7 || r.Prompts != 120*(1+btoi(tt.by == "set")) {
					t.Errorf("fold %s/%s: got APGR %.3f on %d prompts, want >= 0.7 on %d", r.Fold, r.Set, r.APGR, r.Prompts, 120*(1+btoi(tt.by == "set")))
				}
			}
			if got := strings.Join(folds, ","); got != tt.wantFolds {
				t.Errorf("got folds %s, want %s", got, tt.wantFolds)
			}
			s := Summarise(res, nil)
			if s.Folds != len(res) || s.MeanAPGR < 0.7 {
				t.Errorf("got summary %+v, want %d folds with mean APGR >= 0.7", s, len(res))
			}
		})
	}
	if _, err := CrossValidate(taskedSets(), o, "prompt", 1, &bytes.Buffer{}); err == nil {
		t.Errorf("unknown fold kind: got nil error, want one")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Summarise averages the AIQ gain over the rows that have a many-model
// view only, and weights APGR by prompts.
func TestSummarise(t *testing.T) {
	rows := []FoldResult{
		{APGR: 0.6, Prompts: 100, AIQ: 0.80, RandomAIQ: 0.70, LogLoss: 0.5, PriorLogLoss: 0.6},
		{APGR: 0.4, Prompts: 300, AIQ: 0.50, RandomAIQ: 0.70, LogLoss: 0.7, PriorLogLoss: 0.6},
		{APGR: 0.5, Prompts: 100}, // two models: no many-model view, no mapped cells
	}
	s := Summarise(rows, nil)
	want := FoldSummary{Folds: 3, MeanAPGR: 0.5, WeightedAPGR: (60 + 120 + 50) / 500.0, LogLossGain: (0.1*100 - 0.1*300) / 400, AIQGain: (0.1 - 0.2) / 2}
	if math.Abs(s.MeanAPGR-want.MeanAPGR) > 1e-12 || math.Abs(s.WeightedAPGR-want.WeightedAPGR) > 1e-12 ||
		math.Abs(s.LogLossGain-want.LogLossGain) > 1e-12 || math.Abs(s.AIQGain-want.AIQGain) > 1e-12 || s.Folds != 3 {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if s := Summarise(rows, func(r FoldResult) bool { return r.AIQ == 0 }); s.Folds != 1 || s.AIQGain != 0 {
		t.Errorf("filtered to the two-model row: got %+v, want 1 fold and no AIQ gain", s)
	}
}
