package dataset

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Audit S: a cost of 1e308 was accepted, made a model's mean cost +Inf,
// and route train/eval then failed at the very end with "json:
// unsupported value: +Inf". Values whose sums could overflow are refused
// when read, naming the file, line and column.
func TestLoadRefusesOverflowingValues(t *testing.T) {
	tests := []struct {
		name, scores, want string
	}{
		{"cost 1e308", "prompt_id,model,quality,cost_usd\np1,a,1,0.001\np1,b,1,1e308\n", `line 3: cost_usd "1e308"`},
		{"cost above the bound", "prompt_id,model,quality,cost_usd\np1,a,1,2e6\n", `line 2: cost_usd "2e6"`},
		{"cost Inf", "prompt_id,model,quality,cost_usd\np1,a,1,Inf\n", `cost_usd "Inf"`},
		{"output_chars 1e300", "prompt_id,model,quality,cost_usd,output_chars\np1,a,1,,1e300\n", `line 2: output_chars "1e300"`},
		{"quality overflows", "prompt_id,model,quality\np1,a,1e400\n", `quality "1e400"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := t.TempDir()
			if err := os.WriteFile(filepath.Join(d, "prompts.csv"), []byte("prompt_id,prompt\np1,hi\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, "scores.csv"), []byte(tt.scores), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(d, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error naming %s and %s", err, d, tt.want)
			}
			if !strings.Contains(err.Error(), d) || !strings.Contains(err.Error(), "scores.csv") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	// The largest allowed values keep the sums finite.
	d := t.TempDir()
	var sc strings.Builder
	sc.WriteString("prompt_id,model,quality,cost_usd,output_chars\n")
	var pr strings.Builder
	pr.WriteString("prompt_id,prompt\n")
	for i := range 1000 {
		id := "p" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		pr.WriteString(id + ",hi\n")
		sc.WriteString(id + ",a,1,1e6,1e12\n")
	}
	_ = os.WriteFile(filepath.Join(d, "prompts.csv"), []byte(pr.String()), 0o644)
	_ = os.WriteFile(filepath.Join(d, "scores.csv"), []byte(sc.String()), 0o644)
	s, err := Load(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for i := range s.Prompts {
		sum += s.Cost[i][0] * s.OutChars[i][0]
	}
	if math.IsInf(sum, 0) {
		t.Errorf("sum of cost·chars at the bounds overflowed")
	}
}

func TestLoadPricesSkipsOverflowingRows(t *testing.T) {
	d := t.TempDir()
	body := "model,input_usd_per_mtok,output_usd_per_mtok\nok,1,2\ninf,Inf,1\nhuge,1,1e308\nneg,-1,1\nnan,NaN,1\n"
	if err := os.WriteFile(filepath.Join(d, "p.csv"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPrices(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 1 || p["ok"] != (Price{1, 2}) {
		t.Errorf("got %v, want only the row ok", p)
	}
}
