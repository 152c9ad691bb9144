package learned

import (
	"slices"
	"testing"
)

// TestLoadBuiltin: "builtin:default" is the shipped routers/default.json.
func TestLoadBuiltin(t *testing.T) {
	b, err := Load(Builtin)
	if err != nil {
		t.Fatalf("Load(%q): %v", Builtin, err)
	}
	f, err := Load("../../routers/default.json")
	if err != nil {
		t.Fatalf("Load file: %v", err)
	}
	if !slices.Equal(b.ReferenceModels(), f.ReferenceModels()) || len(b.ReferenceModels()) == 0 {
		t.Fatalf("reference models: builtin %v, file %v", b.ReferenceModels(), f.ReferenceModels())
	}
	const prompt = "Prove that there are infinitely many primes."
	if bp, fp := b.Predict(prompt), f.Predict(prompt); !slices.Equal(bp, fp) {
		t.Errorf("predictions differ: builtin %v, file %v", bp, fp)
	}
}
