package learned

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// Audit S: route eval --map accepted names that exist nowhere, so a typo
// left the model silently unmapped; such entries are a usage error naming
// them.
func TestEvalMapUnknownModels(t *testing.T) {
	data := filepath.Join("dataset", "testdata", "tiny")
	tests := []struct {
		name, m string
		code    int
		want    []string
	}{
		{"unknown data model", "org/big-7Ob=claude-v2", 2, []string{`"org/big-7Ob" is not a model of the data`}},
		{"unknown reference model", "small-7b=claude-v9", 2, []string{`"claude-v9" is not a reference model of the router`, "claude-v2"}},
		{"empty reference", "small-7b=", 2, []string{`"" is not a reference model`}},
		{"both known", "small-7b=claude-v2", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := EvalMain([]string{"--router", Builtin, "--data", data, "--map", tt.m}, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.code, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q: want %q", stderr.String(), w)
				}
			}
		})
	}
}
