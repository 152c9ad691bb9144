package cache_test

import (
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
)

func TestSemantic(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC))
	s := cache.NewSemantic(3, clock.Now)
	s.Add("ns", []float32{1, 0, 0}, "k-x", time.Minute)
	s.Add("ns", []float32{0, 2, 0}, "k-y", time.Minute) // not unit: normalised
	s.Add("other", []float32{1, 0.1, 0}, "k-other", time.Minute)

	if key, sim, ok := s.Nearest("ns", []float32{0.99, 0.14, 0}, 0.95); !ok || key != "k-x" || sim < 0.98 {
		t.Errorf("near x: %q %.3f %v, want k-x", key, sim, ok)
	}
	if key, _, ok := s.Nearest("ns", []float32{1, 1, 0}, 0.95); ok {
		t.Errorf("between x and y (cosine 0.71): got %q, want no hit", key)
	}
	if _, _, ok := s.Nearest("none", []float32{1, 0, 0}, 0.5); ok {
		t.Error("an empty namespace answered")
	}
	if _, _, ok := s.Nearest("ns", []float32{0, 0, 0}, 0.5); ok {
		t.Error("a zero vector answered")
	}
	if _, _, ok := s.Nearest("ns", []float32{1, 0}, 0.5); ok {
		t.Error("a vector of another length matched")
	}
	// The oldest entry goes first when full.
	s.Add("ns", []float32{0, 0, 1}, "k-z", time.Minute)
	if _, _, ok := s.Nearest("ns", []float32{1, 0, 0}, 0.95); ok {
		t.Error("k-x, the oldest, still indexed after a fourth Add")
	}
	if n := s.Len(); n != 3 {
		t.Errorf("Len %d, want 3", n)
	}
	// Expired entries are not answered, and are dropped.
	clock.Advance(time.Minute)
	if _, _, ok := s.Nearest("ns", []float32{0, 1, 0}, 0.5); ok {
		t.Error("an expired entry answered")
	}
	if n := s.Len(); n != 1 { // "other" was not scanned
		t.Errorf("Len %d after the scan, want 1", n)
	}
	s.Add("ns", []float32{1, 0, 0}, "t1:x", time.Minute)
	s.Add("ns", []float32{0, 1, 0}, "t2:y", time.Minute)
	s.Purge("t1:")
	if _, _, ok := s.Nearest("ns", []float32{1, 0, 0}, 0.9); ok {
		t.Error("a purged tenant's entry answered")
	}
	if key, _, ok := s.Nearest("ns", []float32{0, 1, 0}, 0.9); !ok || key != "t2:y" {
		t.Error("another tenant's entry went with the purge")
	}
}
