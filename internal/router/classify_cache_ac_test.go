package router

import "testing"

// A label cache is bounded by its size but never allocates it up front: a
// huge cache_size costs only what is cached, instead of a makeslice panic
// that took down serve and a running gateway at a reload (audit AC, C1).
func TestLabelCacheGrowsAsItFills(t *testing.T) {
	c := newLabelCache(9_000_000_000_000_000_000)
	for k := range uint64(10) {
		c.put(k, "a")
	}
	if len(c.m) != 10 || cap(c.ring) > 64 {
		t.Errorf("got %d entries in a ring of capacity %d, want 10 in a small one", len(c.m), cap(c.ring))
	}

	small := newLabelCache(3)
	for k := range uint64(5) {
		small.put(k, "l")
	}
	for k := range uint64(5) {
		_, ok := small.get(k)
		if want := k >= 2; ok != want {
			t.Errorf("key %d cached %v, want %v (the oldest two evicted)", k, ok, want)
		}
	}
	small.put(4, "m") // an update does not evict
	if l, _ := small.get(4); l != "m" || len(small.m) != 3 {
		t.Errorf("after an update: label %q, %d entries; want m, 3", l, len(small.m))
	}
}
