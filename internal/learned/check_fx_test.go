package learned

import (
	"bytes"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/learned/dataset"
)

// The options route train refuses as usage errors are refused by the
// library too: Check (so Train) names each, whatever the data.
func TestCheckRefusesImpossibleOptions(t *testing.T) {
	tests := []struct {
		name string
		edit func(o *TrainOptions)
		want string
	}{
		{"kind bogus", func(o *TrainOptions) { o.Kind = "bogus" }, `kind "bogus": want one of`},
		{"target bogus", func(o *TrainOptions) { o.Target = "bogus" }, `target "bogus": want one of`},
		{"target empty", func(o *TrainOptions) { o.Target = "" }, `target "": want one of`},
		{"trees -1", func(o *TrainOptions) { o.Trees = -1 }, "trees -1: want at least 0"},
		{"depth -1", func(o *TrainOptions) { o.Depth = -1 }, "depth -1: want at least 0"},
		{"min-leaf 0", func(o *TrainOptions) { o.MinLeaf = 0 }, "min-leaf 0: want at least 1"},
		{"shrink 0", func(o *TrainOptions) { o.Shrink = 0 }, "shrink 0: want a number above 0"},
		{"shrink -1", func(o *TrainOptions) { o.Shrink = -1 }, "shrink -1: want a number above 0"},
		{"shrink NaN", func(o *TrainOptions) { o.Shrink = math.NaN() }, "shrink NaN: want a finite number"},
		{"l2-emb -1", func(o *TrainOptions) { o.L2Emb = -1 }, "l2-emb -1: must not be negative"},
		{"l2-dev Inf", func(o *TrainOptions) { o.L2Dev = math.Inf(1) }, "l2-dev +Inf: want a finite number"},
		{"l2-task -0.5", func(o *TrainOptions) { o.L2Task = -0.5 }, "l2-task -0.5: must not be negative"},
		{"ridge -1", func(o *TrainOptions) { o.Ridge = -1 }, "ridge -1: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultTrainOptions()
			tt.edit(&o)
			if err := o.Check(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check: got %v, want %q", err, tt.want)
			}
			if _, err := Train([]*dataset.Set{syntheticSet(20)}, o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Train: got %v, want %q", err, tt.want)
			}
		})
	}
	o := DefaultTrainOptions()
	o.Kind, o.Trees = "bogus", -1
	if err := o.Check(); err == nil || !strings.Contains(err.Error(), "kind") || !strings.Contains(err.Error(), "trees") {
		t.Errorf("two bad options: got %v, want both named", err)
	}
	for _, o := range []TrainOptions{DefaultTrainOptions(), func() TrainOptions {
		o := DefaultTrainOptions()
		o.Kind, o.Target, o.Trees, o.Depth, o.L2Task, o.Ridge = KindDifficulty, TargetGap, 0, 0, 0, 0
		return o
	}()} {
		if err := o.Check(); err != nil {
			t.Errorf("Check(%+v): %v", o, err)
		}
	}
}

// TrainMain's usage errors (exit 2) come before any data is read: the
// --data folder here does not exist, which would be exit 1.
func TestTrainMainUsageErrorsBeforeData(t *testing.T) {
	dir := t.TempDir()
	train := func(extra ...string) []string {
		return append([]string{"--data", filepath.Join(dir, "nodata"), "--out", filepath.Join(dir, "r.json")}, extra...)
	}
	tests := []struct {
		args []string
		want []string
	}{
		{train("--kind", "bogus"), []string{`route train: --kind "bogus": want one of ["" "difficulty"]`}},
		{train("--target=bogus"), []string{`route train: --target "bogus": want one of ["fail" "irt" "gap"]`}},
		{train("--cv", "bogus"), []string{`route train: --cv "bogus": want one of`}},
		{train("--cv", "task", "--cv-min-prompts", "0"), []string{"route train: --cv-min-prompts 0: want at least 1"}},
		{train("--shrink", "NaN"), []string{"route train: --shrink NaN: want a finite number"}},
		{train("--depth", "-2", "--trees", "-1"), []string{"route train: --trees -1: want at least 0\nroute train: --depth -2: want at least 0"}},
		{train("--out", dir), []string{"route train: --out " + dir + " is a directory"}},
		{train("--out", filepath.Join(dir, "missing", "r.json")), []string{"its folder " + filepath.Join(dir, "missing") + " does not exist"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[4:], " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := TrainMain(tt.args, &stdout, &stderr)
			for _, w := range tt.want {
				if code != 2 || !strings.Contains(stderr.String(), w) {
					t.Errorf("got exit %d, stderr %q; want 2 and %q", code, stderr.String(), w)
				}
			}
		})
	}
	// Valid flags reach the data (missing: exit 1).
	for _, args := range [][]string{
		train(),
		train("--kind", "difficulty", "--target", "irt", "--trees", "0", "--depth", "0", "--shrink", "0.5", "--min-leaf", "1", "--l2-task", "0"),
		train("--cv", "both", "--out", dir),
	} {
		var stdout, stderr bytes.Buffer
		if code := TrainMain(args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "nodata") {
			t.Errorf("%v: got exit %d, stderr %q; want 1 about the missing data", args[4:], code, stderr.String())
		}
	}
}
