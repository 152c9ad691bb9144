package dataset

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func loadTiny(t *testing.T) *Set {
	t.Helper()
	prices, err := LoadPrices(filepath.Join("testdata", "prices"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(filepath.Join("testdata", "tiny"), prices)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestLoadPromptsAndModels(t *testing.T) {
	s := loadTiny(t)
	if got, want := fmt.Sprint(s.Models), "[org/big-70b small-7b]"; got != want {
		t.Errorf("models: got %s, want %s", got, want)
	}
	if s.Name != "tiny" {
		t.Errorf("name: got %q, want %q", s.Name, "tiny")
	}
	tests := []struct {
		name         string
		i            int
		id, task, tx string
	}{
		{"simple field", 0, "p1", "qa", "What is 2+2?"},
		{"multi-line quoted field with commas and quotes", 1, "p2", "code", "Write a function.\nIt must, \"really\", work."},
	}
	if len(s.Prompts) != 2 {
		t.Fatalf("got %d prompts, want 2 (p3 has no score, the duplicate p1 is ignored)", len(s.Prompts))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := s.Prompts[tt.i]
			if p.ID != tt.id || p.Task != tt.task || p.Text != tt.tx {
				t.Errorf("got %+v, want {ID:%s Task:%s Text:%q}", p, tt.id, tt.task, tt.tx)
			}
		})
	}
}

func TestLoadQualityAndCosts(t *testing.T) {
	s := loadTiny(t)
	p2 := "Write a function.\nIt must, \"really\", work."
	tests := []struct {
		name      string
		got, want float64
	}{
		{"quality p1 big", s.Quality[0][0], 1},
		{"quality p1 small", s.Quality[0][1], 0},
		{"fractional quality p2 big", s.Quality[1][0], 0.5},
		{"missing quality p2 small", s.Quality[1][1], math.NaN()},
		{"measured cost", s.Cost[0][0], 0.01},
		// small-7b has no price row: the 7B size band, $0.2 in and out, 200 answer tokens.
		{"size-band cost", s.Cost[0][1], (12.0/4*0.2 + 200*0.2) / 1e6},
		// org/big-70b matches the table row big-70b without its org; answer 400 chars.
		{"price-table cost", s.Cost[1][0], (float64(len(p2))/4*1 + 100*2) / 1e6},
		{"output chars", s.OutChars[1][0], 400},
		{"missing output chars", s.OutChars[0][1], math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if math.IsNaN(tt.want) != math.IsNaN(tt.got) || (!math.IsNaN(tt.want) && !near(tt.got, tt.want)) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
	if s.CostMeasured {
		t.Errorf("CostMeasured: got true, want false (some costs come from prices)")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, prompts, scores string) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if prompts != "" {
			if err := os.WriteFile(filepath.Join(d, "prompts.csv"), []byte(prompts), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(d, "scores.csv"), []byte(scores), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name string
		dir  string
	}{
		{"missing prompts.csv", write("noprompts", "", "prompt_id,model,quality\n")},
		{"prompts lack text column", write("nocol", "prompt_id,task\np1,qa\n", "prompt_id,model,quality\np1,m,1\n")},
		{"scores lack quality column", write("noq", "prompt_id,prompt\np1,hi\n", "prompt_id,model\np1,m\n")},
		{"no scored prompt", write("noscore", "prompt_id,prompt\np1,hi\n", "prompt_id,model,quality\np1,m,\n")},
		{"unterminated quote", write("badcsv", "prompt_id,prompt\np1,\"hi\n", "prompt_id,model,quality\np1,m,1\n")},
		{"NaN quality", write("nanq", "prompt_id,prompt\np1,hi\n", "prompt_id,model,quality\np1,m,NaN\n")},
		{"quality above 1", write("bigq", "prompt_id,prompt\np1,hi\n", "prompt_id,model,quality\np1,m,1.5\n")},
		{"quality not a number", write("wordq", "prompt_id,prompt\np1,hi\n", "prompt_id,model,quality\np1,m,abc\n")},
		{"negative cost", write("negc", "prompt_id,prompt\np1,hi\n", "prompt_id,model,quality,cost_usd\np1,m,1,-0.1\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Load(tt.dir, nil); err == nil {
				t.Errorf("got nil error, want one")
			}
		})
	}
}

func TestLoadPricesSkipsBadRows(t *testing.T) {
	p, err := LoadPrices(filepath.Join("testdata", "prices"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p["big-70b"], (Price{1, 2}); got != want {
		t.Errorf("big-70b: got %+v, want %+v", got, want)
	}
	if _, ok := p["broken"]; ok {
		t.Errorf("broken: got a price, want the unparsable row skipped")
	}
	if p, err := LoadPrices(filepath.Join(t.TempDir(), "none")); err != nil || len(p) != 0 {
		t.Errorf("missing dir: got %v, %v, want an empty table", p, err)
	}
}

func TestParamBillionsAndSizePrice(t *testing.T) {
	tests := []struct {
		name  string
		model string
		want  float64
		price float64
	}{
		{"plain", "llama-2-70b-chat", 70, 0.9},
		{"mixture", "mistralai/mixtral-8x7b-chat", 56, 0.9},
		{"fraction", "qwen2.5-1.5b", 1.5, 0.2},
		{"upper case", "Yi-34B", 34, 0.6},
		{"large", "llama-3.1-405b", 405, 1.2},
		{"no size", "gpt-4-1106-preview", 0, 0},
		{"b inside a word", "bbq-bot", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParamBillions(tt.model); got != tt.want {
				t.Errorf("ParamBillions: got %v, want %v", got, tt.want)
			}
			p, ok := SizePrice(tt.model)
			if ok != (tt.price > 0) || p.InputPerMTok != tt.price {
				t.Errorf("SizePrice: got %+v %v, want %v", p, ok, tt.price)
			}
		})
	}
}

func TestIsValidationStableAndProportional(t *testing.T) {
	n := 0
	for i := range 10000 {
		id := fmt.Sprintf("prompt-%d", i)
		v := IsValidation(id, 0.2)
		if v != IsValidation(id, 0.2) {
			t.Fatalf("%s: got different answers for the same id", id)
		}
		if v && !IsValidation(id, 0.5) {
			t.Fatalf("%s: in the 20%% part but not the 50%% part, want nested splits", id)
		}
		if v {
			n++
		}
	}
	if n < 1800 || n > 2200 {
		t.Errorf("got %d of 10000 in validation, want about 2000", n)
	}
	if IsValidation("x", 0) {
		t.Errorf("frac 0: got validation, want none")
	}
}

func TestSubsetAndModelIndex(t *testing.T) {
	s := loadTiny(t)
	sub := s.Subset(func(i int) bool { return s.Prompts[i].ID == "p2" })
	if len(sub.Prompts) != 1 || sub.Prompts[0].ID != "p2" || sub.Quality[0][0] != 0.5 || len(sub.Cost) != 1 || len(sub.OutChars) != 1 {
		t.Errorf("got %+v, want only p2 with its rows", sub)
	}
	if got := s.ModelIndex("small-7b"); got != 1 {
		t.Errorf("ModelIndex: got %d, want 1", got)
	}
	if got := s.ModelIndex("nope"); got != -1 {
		t.Errorf("ModelIndex unknown: got %d, want -1", got)
	}
	if got, want := DefaultPricesDir(filepath.Join("a", "data", "set")), filepath.Join("a", "data", "prices"); got != want {
		t.Errorf("DefaultPricesDir: got %q, want %q", got, want)
	}
}
