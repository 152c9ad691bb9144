package cache_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/redisbacked/redistest"
)

// TestSemanticShare: an entry one replica indexes reaches the others'
// indexes, a replica that starts later reads what is still live, and no
// replica adds its own entries twice.
func TestSemanticShare(t *testing.T) {
	stream := redistest.Prefix(t) + "semantic"
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	start := func() *cache.Semantic {
		idx := cache.NewSemantic(100, nil)
		sh := cache.NewSemanticShare(redistest.NewClient(t, redistest.Addr), stream, idx, 100, nil)
		wg.Go(func() { _ = sh.Run(ctx) })
		return idx
	}
	a, b := start(), start()
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	a.Add("ns1", []float32{1, 0, 0}, "answer-a", time.Minute)
	waitUntil("b to learn a's entry", func() bool {
		key, sim, ok := b.Nearest("ns1", []float32{0.9, 0.1, 0}, 0.9)
		return ok && key == "answer-a" && sim > 0.99
	})
	b.Add("ns2", []float32{0, 1, 0}, "answer-b", time.Minute)
	b.Add("ns3", []float32{0, 0, 1}, "gone-soon", time.Millisecond)
	waitUntil("a to learn b's entry", func() bool {
		key, _, ok := a.Nearest("ns2", []float32{0, 1, 0}, 0.9)
		return ok && key == "answer-b"
	})
	if a.Len() > 3 || b.Len() != 3 {
		t.Errorf("index sizes a %d, b %d: want b's own entries once (3), a at most 3", a.Len(), b.Len())
	}

	// A replica that starts now reads the live entries from the stream.
	c := start()
	waitUntil("c to read what is live", func() bool {
		_, _, okA := c.Nearest("ns1", []float32{1, 0, 0}, 0.9)
		_, _, okB := c.Nearest("ns2", []float32{0, 1, 0}, 0.9)
		return okA && okB
	})
	if _, _, ok := c.Nearest("ns3", []float32{0, 0, 1}, 0.5); ok {
		t.Error("c indexed an entry that had expired")
	}
}
