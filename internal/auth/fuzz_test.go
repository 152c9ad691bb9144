package auth

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzFromHeader checks that whatever a client sends, an accepted key is
// non-empty, bounded, free of spaces and control characters, and a
// substring of what was sent.
func FuzzFromHeader(f *testing.F) {
	for _, s := range []string{"Bearer sk-1", "bearer  k ", "Basic x", "Bearer", "Bearer \x00", strings.Repeat("a", 600)} {
		f.Add(s, "")
		f.Add("", s)
	}
	f.Fuzz(func(t *testing.T, authz, xkey string) {
		h := http.Header{}
		if authz != "" {
			h["Authorization"] = []string{authz}
		}
		if xkey != "" {
			h["X-Api-Key"] = []string{xkey}
		}
		key, ok := FromHeader(h)
		if !ok {
			return
		}
		if key == "" || len(key) > maxKeyLen {
			t.Fatalf("got key of length %d, want 1..%d", len(key), maxKeyLen)
		}
		for i := 0; i < len(key); i++ {
			if key[i] <= ' ' || key[i] == 0x7f {
				t.Fatalf("got key with byte %#x, want no spaces or controls", key[i])
			}
		}
		if !strings.Contains(authz, key) && !strings.Contains(xkey, key) {
			t.Fatalf("got key %q not in the headers", key)
		}
		if NewStatic(key).Check(key) != true {
			t.Fatalf("got a key that does not check against itself")
		}
	})
}
