package cache_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
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
	a.Add("ns1", []float32{1, 0, 0}, "answer-a", time.Minute)
	clocktest.WaitFor(t, "b to learn a's entry", func() bool {
		key, sim, ok := b.Nearest("ns1", []float32{0.9, 0.1, 0}, 0.9)
		return ok && key == "answer-a" && sim > 0.99
	})
	b.Add("ns2", []float32{0, 1, 0}, "answer-b", time.Minute)
	b.Add("ns3", []float32{0, 0, 1}, "gone-soon", time.Millisecond)
	clocktest.WaitFor(t, "a to learn b's entry", func() bool {
		key, _, ok := a.Nearest("ns2", []float32{0, 1, 0}, 0.9)
		return ok && key == "answer-b"
	})
	if a.Len() > 3 || b.Len() != 3 {
		t.Errorf("index sizes a %d, b %d: want b's own entries once (3), a at most 3", a.Len(), b.Len())
	}

	// A replica that starts now reads the live entries from the stream.
	c := start()
	clocktest.WaitFor(t, "c to read what is live", func() bool {
		_, _, okA := c.Nearest("ns1", []float32{1, 0, 0}, 0.9)
		_, _, okB := c.Nearest("ns2", []float32{0, 1, 0}, 0.9)
		return okA && okB
	})
	if _, _, ok := c.Nearest("ns3", []float32{0, 0, 1}, 0.5); ok {
		t.Error("c indexed an entry that had expired")
	}
}

// TestSemanticSharePurge: a purge on one replica drops the same entries
// from the others' indexes, and from the index of a replica that starts
// after it (which reads the entries, then the purge).
func TestSemanticSharePurge(t *testing.T) {
	stream := redistest.Prefix(t) + "semantic"
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	start := func() (*cache.Semantic, *cache.SemanticShare) {
		idx := cache.NewSemantic(100, nil)
		sh := cache.NewSemanticShare(redistest.NewClient(t, redistest.Addr), stream, idx, 100, nil)
		wg.Go(func() { _ = sh.Run(ctx) })
		return idx, sh
	}
	has := func(idx *cache.Semantic, ns string, vec []float32) bool {
		_, _, ok := idx.Nearest(ns, vec, 0.99)
		return ok
	}
	x, y, z := []float32{1, 0, 0}, []float32{0, 1, 0}, []float32{0, 0, 1}
	a, shA := start()
	b, _ := start()
	a.Add("nsx", x, "acme:x", time.Minute)
	a.Add("nsy", y, "globex:y", time.Minute)
	clocktest.WaitFor(t, "b to learn a's entries", func() bool { return has(b, "nsx", x) && has(b, "nsy", y) })

	a.Purge("acme:")
	if err := shA.Purge(ctx, "acme:"); err != nil {
		t.Fatal(err)
	}
	clocktest.WaitFor(t, "b to drop acme's entry", func() bool { return !has(b, "nsx", x) })
	if !has(b, "nsy", y) {
		t.Error("b dropped another tenant's entry")
	}

	// A later replica reads x, y, the purge, then z: once it has z, x is gone.
	a.Add("nsz", z, "globex:z", time.Minute)
	c, _ := start()
	clocktest.WaitFor(t, "c to read the stream", func() bool { return has(c, "nsz", z) })
	if has(c, "nsx", x) || !has(c, "nsy", y) {
		t.Errorf("late replica: acme's entry kept %v, globex's %v; want dropped, kept", has(c, "nsx", x), has(c, "nsy", y))
	}
}

// TestSemanticSharePurgeStreamExpires: a purge written where no entry was
// shared creates a stream that expires, rather than one kept for ever; a
// stream that holds entries keeps their expiry.
func TestSemanticSharePurgeStreamExpires(t *testing.T) {
	stream := redistest.Prefix(t) + "semantic"
	client := redistest.NewClient(t, redistest.Addr)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	idx := cache.NewSemantic(100, nil)
	sh := cache.NewSemanticShare(client, stream, idx, 100, nil)
	wg.Go(func() { _ = sh.Run(ctx) })
	if err := sh.Purge(ctx, ""); err != nil {
		t.Fatal(err)
	}
	clocktest.WaitFor(t, "the purge in the stream", func() bool { return client.XLen(ctx, stream).Val() == 1 })
	if ttl := client.TTL(ctx, stream).Val(); ttl <= 0 || ttl > 2*time.Minute {
		t.Errorf("stream made by a purge: TTL %v, want a bounded expiry", ttl)
	}
	idx.Add("ns", []float32{1, 0}, "k", time.Hour)
	clocktest.WaitFor(t, "the entry in the stream", func() bool { return client.XLen(ctx, stream).Val() == 2 })
	if err := sh.Purge(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	clocktest.WaitFor(t, "the second purge in the stream", func() bool { return client.XLen(ctx, stream).Val() == 3 })
	if ttl := client.TTL(ctx, stream).Val(); ttl < 50*time.Minute {
		t.Errorf("stream holding an entry live for an hour: TTL %v after a purge, want the entry's", ttl)
	}
}

// TestSemanticShareInactiveDoesNotRead: while the semantic lookup is off
// the stream is not read; once on, entries shared meanwhile are read.
func TestSemanticShareInactiveDoesNotRead(t *testing.T) {
	stream := redistest.Prefix(t) + "semantic"
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	writer := cache.NewSemantic(100, nil)
	ws := cache.NewSemanticShare(redistest.NewClient(t, redistest.Addr), stream, writer, 100, nil)
	wg.Go(func() { _ = ws.Run(ctx) })
	var on sync.Mutex
	active := false
	reader := cache.NewSemantic(100, nil)
	rs := cache.NewSemanticShare(redistest.NewClient(t, redistest.Addr), stream, reader, 100, nil)
	rs.SetActive(func() bool { on.Lock(); defer on.Unlock(); return active })
	wg.Go(func() { _ = rs.Run(ctx) })
	// A control reader, always active, shows when a reader would have
	// had the entry.
	control := cache.NewSemantic(100, nil)
	cs := cache.NewSemanticShare(redistest.NewClient(t, redistest.Addr), stream, control, 100, nil)
	wg.Go(func() { _ = cs.Run(ctx) })
	writer.Add("ns", []float32{1, 0}, "k", time.Minute)
	clocktest.WaitFor(t, "the control reader to read the entry", func() bool { return control.Len() == 1 })
	writer.Add("ns", []float32{0, 1}, "k2", time.Minute)
	clocktest.WaitFor(t, "the control reader to read a second entry", func() bool { return control.Len() == 2 })
	if reader.Len() != 0 {
		t.Fatalf("an inactive share read the stream: %d entries", reader.Len())
	}
	on.Lock()
	active = true
	on.Unlock()
	clocktest.WaitFor(t, "the entries read once active", func() bool { return reader.Len() == 2 })
}
