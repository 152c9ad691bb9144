package learned

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// route train refuses, before reading any data, options whose router file
// would be over the MaxFileBytes Load reads: it would train only to write
// a file nothing can load.
func TestTrainMainRefusesAnOversizedRouter(t *testing.T) {
	dir := t.TempDir()
	train := func(extra ...string) []string {
		return append([]string{"--data", filepath.Join(dir, "nodata"), "--out", filepath.Join(dir, "r.json")}, extra...)
	}
	tests := []struct {
		args []string
		want []string
	}{
		{train("--dim", "16777216", "--hidden", "16"), []string{"--dim 16777216 and --hidden 16: the router file would be at least 1365.3 MiB, over the 64 MiB", "lower --dim or --hidden"}},
		{train("--dim", "3145728", "--hidden", "5"), []string{"--dim 3145728 and --hidden 5", "at least 80.0 MiB"}},
		// A product of exactly 12582912 fills the cap with the embedding
		// alone; the rest of the file is over it (audit AS, AS4).
		{train("--dim", "4096", "--hidden", "3072"), []string{"--dim 4096 and --hidden 3072", "at least 64.0 MiB"}},
		{train("--kind", "difficulty", "--trees", "1000", "--depth", "16"), []string{"--trees 1000 of --depth 16: the router file would be at least 1125.0 MiB, over the 64 MiB", "lower --trees or --depth"}},
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
	if _, err := os.Stat(filepath.Join(dir, "r.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--out: %v, want no file written", err)
	}
	// Options just within the size, or cross-validation (which writes no
	// router), reach the data (missing: exit 1).
	for _, args := range [][]string{
		train("--dim", "3145727", "--hidden", "4"),
		train("--kind", "difficulty", "--trees", "50", "--depth", "16"),
		train("--dim", "16777216", "--hidden", "16", "--cv", "task", "--out", dir),
	} {
		var stdout, stderr bytes.Buffer
		if code := TrainMain(args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "nodata") {
			t.Errorf("%v: got exit %d, stderr %q; want 1 about the missing data", args[4:], code, stderr.String())
		}
	}
}

// Save refuses a router whose file would be over MaxFileBytes, which Load
// refuses, and leaves the file that was there as it was.
func TestSaveRefusesAnOversizedRouter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(path, []byte("old router\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := &Router{file: File{Format: FormatVersion, Embedding: strings.Repeat("A", MaxFileBytes)}}
	err := big.Save(path)
	if err == nil || !strings.Contains(err.Error(), "over the 64 MiB") {
		t.Fatalf("got %v, want an error saying the file would be over 64 MiB", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "old router\n" {
		t.Errorf("file now %.40q (%v), want the old router untouched", b, err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("folder holds %d files, want only the old router (no temporary file left)", len(ents))
	}
	// A router within the cap replaces the file whole and loads back.
	small, err := fromFile(tinyFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := small.Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Errorf("Load of the saved router: %v", err)
	}
	var pathErr *os.PathError
	if err := small.Save(filepath.Join(path, "not-a-dir", "r.json")); !errors.As(err, &pathErr) {
		t.Errorf("Save into a missing folder: got %v, want a path error", err)
	}
}
