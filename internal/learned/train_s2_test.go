package learned

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/learned/dataset"
)

// heldOutSet is syntheticSet(n) keeping only prompts in the default 20%
// validation split: nothing is left to train on.
func heldOutSet(t *testing.T, n int) *dataset.Set {
	t.Helper()
	all := syntheticSet(n)
	s := all.Subset(func(i int) bool { return dataset.IsValidation(all.Prompts[i].ID, DefaultTrainOptions().Holdout) })
	if len(s.Prompts) == 0 {
		t.Fatal("no synthetic prompt in the validation split")
	}
	return s
}

// Audit S2: training on an empty training split produced a router of NaN
// parameters whose evaluation then looped forever; Train refuses it.
func TestTrainRefusesEmptyTrainingSplit(t *testing.T) {
	for _, kind := range []string{"", KindDifficulty} {
		t.Run("kind "+kind, func(t *testing.T) {
			o := DefaultTrainOptions()
			o.Dim, o.Kind = 1<<8, kind
			r, err := Train([]*dataset.Set{heldOutSet(t, 40)}, o, &bytes.Buffer{})
			if err == nil {
				t.Fatalf("trained a router on no prompts (mean_quality %v)", r.File().Models[0].MeanQuality)
			}
			if !strings.Contains(err.Error(), "no training prompts") || !strings.Contains(err.Error(), "validation split") {
				t.Errorf("error %q: want it to say there are no training prompts and why", err)
			}
		})
	}
}

func TestTrainOptionsOutOfRange(t *testing.T) {
	tests := []struct {
		name string
		edit func(o *TrainOptions)
		want string
	}{
		{"holdout 1", func(o *TrainOptions) { o.Holdout = 1 }, "holdout"},
		{"holdout 2", func(o *TrainOptions) { o.Holdout = 2 }, "holdout"},
		{"holdout negative", func(o *TrainOptions) { o.Holdout = -0.1 }, "holdout"},
		{"holdout NaN", func(o *TrainOptions) { o.Holdout = math.NaN() }, "holdout"},
		{"epochs 0", func(o *TrainOptions) { o.Epochs = 0 }, "epochs"},
		{"dim 0", func(o *TrainOptions) { o.Dim = 0 }, "dim"},
		{"dim -5", func(o *TrainOptions) { o.Dim = -5 }, "dim"},
		{"dim too large", func(o *TrainOptions) { o.Dim = MaxDim + 1 }, "dim"},
		{"hidden -1", func(o *TrainOptions) { o.Hidden = -1 }, "hidden"},
		{"hidden too large", func(o *TrainOptions) { o.Hidden = MaxHidden + 1 }, "hidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultTrainOptions()
			tt.edit(&o)
			if _, err := Train([]*dataset.Set{syntheticSet(20)}, o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error about %s", err, tt.want)
			}
		})
	}
}

// The audit's reproduction: route train on a one-prompt export whose
// prompt is held out ends with an error, promptly.
func TestTrainMainOnePromptHeldOut(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	s := heldOutSet(t, 40)
	id := s.Prompts[0].ID
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	prompts := "prompt_id,split,task,prompt\n" + id + ",train,t,\"What is 2+2?\"\n"
	scores := "prompt_id,model,quality,quality_raw,cost_usd,output_chars\n" + id + ",big,1,1,0.01,5\n" + id + ",small,0,0,0.001,5\n"
	for name, body := range map[string]string{"prompts.csv": prompts, "scores.csv": scores} {
		if err := os.WriteFile(filepath.Join(data, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	code := -1
	done := make(chan struct{})
	go func() {
		defer close(done)
		code = TrainMain([]string{"--data", data, "--out", filepath.Join(dir, "r.json")}, &out, &errb)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("route train did not finish within 20 s")
	}
	if code != 1 || !strings.Contains(errb.String(), "no training prompts") {
		t.Errorf("exit %d, stderr %q: want 1 and a no-training-prompts error", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "r.json")); err == nil {
		t.Error("a router file was written")
	}
}
