package config

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	seeds = append(seeds, filepath.Join("..", "..", "docs", "switchyard.example.yaml"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(validTail))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, getenv)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("got an empty error message, want a description")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("got %v from Validate, want a parsed config to be valid", err)
		}
		out := c.Redacted()
		if _, err := Parse([]byte(out), getenv); err != nil {
			t.Fatalf("got %v, want Redacted output to parse:\n%s", err, out)
		}
	})
}
