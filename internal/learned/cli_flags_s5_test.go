package learned

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// Audit S5: route train panicked (a Go stack trace, exit 2) on --dim 0,
// --dim -5 and --hidden -1; flags out of range are usage errors naming
// the flag, for route train and route eval.
func TestRouteFlagsOutOfRange(t *testing.T) {
	data := filepath.Join("dataset", "testdata", "tiny")
	out := filepath.Join(t.TempDir(), "r.json")
	tests := []struct {
		name string
		main func(args []string, stdout, stderr *bytes.Buffer) int
		args []string
		want string
	}{
		{"train --dim 0", trainMain, []string{"--dim", "0"}, "--dim 0"},
		{"train --dim -5", trainMain, []string{"--dim", "-5"}, "--dim -5"},
		{"train --dim huge", trainMain, []string{"--dim", "100000000"}, "--dim 100000000"},
		{"train --hidden -1", trainMain, []string{"--hidden", "-1"}, "--hidden -1"},
		{"train --hidden 0", trainMain, []string{"--hidden", "0"}, "--hidden 0"},
		{"train --epochs 0", trainMain, []string{"--epochs", "0"}, "--epochs 0"},
		{"train --holdout 1", trainMain, []string{"--holdout", "1"}, "--holdout 1"},
		{"train --holdout -0.5", trainMain, []string{"--holdout", "-0.5"}, "--holdout -0.5"},
		{"train --holdout NaN", trainMain, []string{"--holdout", "NaN"}, "--holdout NaN"},
		{"train --depth 64", trainMain, []string{"--kind", "difficulty", "--depth", "64"}, "--depth 64"},
		{"eval --holdout 2", evalMain, []string{"--router", Builtin, "--holdout", "2", "--split", "validation"}, "--holdout 2"},
		{"eval --holdout -1", evalMain, []string{"--router", Builtin, "--holdout", "-1"}, "--holdout -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := tt.main(append([]string{"--data", data, "--out", out}, tt.args...), &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q: want 2 and an error naming %q", code, stderr.String(), tt.want)
			}
		})
	}
}

func trainMain(args []string, stdout, stderr *bytes.Buffer) int {
	return TrainMain(args, stdout, stderr)
}

// evalMain drops the --out that route eval does not take.
func evalMain(args []string, stdout, stderr *bytes.Buffer) int {
	var keep []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--out" {
			i++
			continue
		}
		keep = append(keep, args[i])
	}
	return EvalMain(keep, stdout, stderr)
}
