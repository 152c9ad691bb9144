package sim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadConfig(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("testdata", "good.yaml"))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	want := Config{Models: []Model{
		{Name: "sim-small", ContextWindow: 8192, Latency: 20 * time.Millisecond, FirstToken: 60 * time.Millisecond,
			TokensPerSecond: 200, OutputTokens: 16, Faults: []Fault{
				{Type: FaultStatus, Status: 429, RetryAfter: time.Second, Times: 2},
				{Type: FaultStall, After: 3, Times: 1},
				{Type: FaultDown, For: 30 * time.Second},
			}},
		{Name: "sim-embed", EmbeddingDims: 16},
	}}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadConfigBad(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"unknown field", "unknown_field.bad.yaml", []string{"field colour not found"}},
		{"bad duration", "bad_duration.bad.yaml", []string{"cannot unmarshal !!str `fast` into time.Duration"}},
		{"bad fault", "bad_fault.bad.yaml", []string{
			`models[0].faults[0].type: unknown fault type "explode"`,
			"models[0].faults[1].status: 200 is not an error status"}},
		{"down without for", "down_without_for.bad.yaml", []string{"models[0].faults[0].for: required for a down fault"}},
		{"duplicate and missing names", "duplicate.bad.yaml", []string{
			`models[1].name: duplicate model "a"`, "models[2].name: required"}},
		{"missing file", "nope.yaml", []string{"sim: load config"}},
	}
	// Every bad file in testdata must have a row.
	files, _ := filepath.Glob(filepath.Join("testdata", "*.bad.yaml"))
	if got := len(files); got != len(tests)-1 {
		t.Errorf("got %d bad files, want %d rows for them", got, len(tests)-1)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(filepath.Join("testdata", tt.file))
			if err == nil {
				t.Fatal("got nil error, want one")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("DefaultConfig is invalid: %v", err)
	}
	var names []string
	for _, m := range cfg.Models {
		names = append(names, m.Name)
	}
	if want := []string{"sim-small", "sim-medium", "sim-large", "sim-vision", "sim-embed", "sim-titan-embed-text-v2", "sim-moderation", "sim-image", "sim-dalle",
		"sim-tts", "sim-whisper", "sim-transcribe", "sim-realtime", "sim-video"}; !cmp.Equal(names, want) {
		t.Errorf("got models %v, want %v", names, want)
	}
	if !(cfg.Models[0].TokensPerSecond > cfg.Models[2].TokensPerSecond) {
		t.Errorf("got sim-small %v tok/s, sim-large %v tok/s; want small faster", cfg.Models[0].TokensPerSecond, cfg.Models[2].TokensPerSecond)
	}
}

func TestParseConfigEmpty(t *testing.T) {
	cfg, err := ParseConfig(nil)
	if err != nil || len(cfg.Models) != 0 {
		t.Errorf("got %v, %v; want an empty config", cfg, err)
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, name := range []string{"good.yaml", "bad_fault.bad.yaml", "duplicate.bad.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err == nil {
			if err := cfg.Validate(); err != nil {
				t.Errorf("ParseConfig accepted a config that Validate rejects: %v", err)
			}
			_ = New(cfg) // must not panic
		}
	})
}

func FuzzPrompt(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`), true)
	f.Add([]byte(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image"},{"type":"tool_result","content":[{"type":"text","text":"x"}]}]}],"tools":[{"name":"t","input_schema":{"type":"object","properties":{"a":{"type":"array","items":{"type":"integer"}}}}}]}`), false)
	f.Fuzz(func(t *testing.T, body []byte, openAIDialect bool) {
		m := testModel("m")
		var p *prompt
		if openAIDialect {
			var req oaRequest
			if json.Unmarshal(body, &req) != nil {
				return
			}
			p, _ = req.prompt()
		} else {
			var req anRequest
			if json.Unmarshal(body, &req) != nil {
				return
			}
			p, _ = req.prompt()
		}
		if p == nil {
			return
		}
		a, b := generate(m, p), generate(m, p)
		if a.text() != b.text() {
			t.Errorf("generate is not deterministic: %q vs %q", a.text(), b.text())
		}
		if p.maxTokens > 0 && len(a.tokens) > p.maxTokens {
			t.Errorf("got %d tokens, want <= max_tokens %d", len(a.tokens), p.maxTokens)
		}
	})
}

func TestEmbedWords(t *testing.T) {
	cos := func(a, b []float32) float64 {
		var s float64
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return s
	}
	q := embedWords("e", "What is the capital of France?", 256)
	if c := cos(q, embedWords("e", "what is the CAPITAL of france", 256)); c < 0.9999 {
		t.Errorf("same words, other case and punctuation: cosine %.4f, want 1", c)
	}
	near := cos(q, embedWords("e", "What is the capital of Spain?", 256))
	far := cos(q, embedWords("e", "Write a haiku about autumn leaves", 256))
	if near < 0.7 || near > 0.95 || far > 0.3 {
		t.Errorf("one word changed: cosine %.3f (want 0.7-0.95); unrelated: %.3f (want < 0.3)", near, far)
	}
	if v := embedWords("e", "!!!", 8); len(v) != 8 {
		t.Errorf("no words: %v", v)
	}
}
