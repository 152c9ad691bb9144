package sqlite

import (
	"path/filepath"
	"testing"
)

// TestWriterTempStoreMemory: the writer keeps its statement journals in
// memory (temp_store 2), the readers keep SQLite's default (0, a file for
// a large sort).
func TestWriterTempStoreMemory(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "switchyard.db"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	var w, r int
	if err := s.w.QueryRowContext(t.Context(), "PRAGMA temp_store").Scan(&w); err != nil {
		t.Fatal(err)
	}
	if err := s.r.QueryRowContext(t.Context(), "PRAGMA temp_store").Scan(&r); err != nil {
		t.Fatal(err)
	}
	if w != 2 || r != 0 {
		t.Errorf("got temp_store writer %d, readers %d, want 2 and 0", w, r)
	}
}
