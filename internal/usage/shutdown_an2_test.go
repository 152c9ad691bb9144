package usage

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// gatedSink holds its first write until open is closed, telling entered
// when that write has begun; later writes go straight to the fakeSink.
type gatedSink struct {
	*fakeSink
	entered, open chan struct{}
	first         atomic.Bool
}

func (g *gatedSink) InsertUsage(ctx context.Context, recs []store.UsageRecord) error {
	if g.first.CompareAndSwap(false, true) {
		close(g.entered)
		<-g.open
	}
	return g.fakeSink.InsertUsage(ctx, recs)
}

// spoolLines counts the records left in the spool and its replay file.
func spoolLines(t *testing.T, path string) int {
	t.Helper()
	return countLines(t, path) + countLines(t, path+".replay")
}

// runUntilCancel runs l and returns its cancel and wait, which returns
// Run's result, for tests that must cancel before Run can return.
func runUntilCancel(t *testing.T, l *Ledger) (cancel context.CancelFunc, wait func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	var err error
	wait = func() error {
		once.Do(func() { err = <-done })
		return err
	}
	t.Cleanup(func() { cancel(); wait() })
	return cancel, wait
}

// TestShutdownReplaysQueueFullSpill: records spilled because the queue was
// full, with the store up, are in the store once Run returns, and out of
// the spool (audit AN, AN2).
func TestShutdownReplaysQueueFullSpill(t *testing.T) {
	const n = 30
	sink := &gatedSink{fakeSink: newFakeSink(), entered: make(chan struct{}), open: make(chan struct{})}
	opts := fastOpts(t)
	opts.QueueSize, opts.BatchSize, opts.FlushInterval = 2, 1, time.Hour // no tick replays
	l := NewLedger(sink, opts)
	cancel, wait := runUntilCancel(t, l)
	release := sync.OnceFunc(func() { close(sink.open) })
	t.Cleanup(release) // before Run's cleanup, should the test fail early

	l.Enqueue(mkRec(0))
	<-sink.entered // Run is writing record 0 and takes no more meanwhile
	for i := 1; i < n; i++ {
		l.Enqueue(mkRec(i))
	}
	if st := l.Stats(); st.Spilled != n-3 || st.Queued != 2 {
		t.Fatalf("before shutdown: got spilled %d queued %d, want %d and 2", st.Spilled, st.Queued, n-3)
	}
	cancel()
	release()
	if err := wait(); err != nil {
		t.Fatalf("run: got %v, want nil", err)
	}
	if unique, dups, _ := sink.counts(); unique != n || dups != 0 {
		t.Errorf("sink: got %d unique and %d duplicates, want %d and 0", unique, dups, n)
	}
	if st := l.Stats(); st.Replayed != n-3 || st.Written != 3 {
		t.Errorf("stats: got replayed %d written %d, want %d and 3", st.Replayed, st.Written, n-3)
	}
	assertSpoolEmpty(t, opts.SpoolPath)
}

// TestShutdownAfterStoreRecovered: records spooled during a store outage
// (the first batch failed, the rest went to the spool during the back-off
// without trying the store) reach the store at shutdown once it answers,
// the partial batch still queued included, each once.
func TestShutdownAfterStoreRecovered(t *testing.T) {
	tests := []struct {
		name      string
		recovered bool
		wantSink  int
		wantSpool int
	}{
		{name: "store answers again: all in the store", recovered: true, wantSink: 13},
		{name: "store still down: all in the spool", wantSpool: 13},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := newFakeSink()
			sink.fail.Store(true)
			opts := fastOpts(t)
			// A back-off far longer than the test, and no tick: only
			// shutdown can try the store again.
			opts.BatchSize, opts.FlushInterval, opts.RetryMin, opts.RetryMax = 5, time.Hour, time.Hour, time.Hour
			l := NewLedger(sink, opts)
			stop := start(t, l)

			enqueueRange(l, 0, 5)
			waitFor(t, "first batch spooled", func() bool { return l.Stats().Spooled == 5 })
			enqueueRange(l, 5, 10)
			waitFor(t, "second batch spooled while backing off", func() bool { return l.Stats().Spooled == 10 })
			enqueueRange(l, 10, 13) // a partial batch, waiting for the tick
			waitFor(t, "partial batch taken", func() bool { return l.Stats().Queued == 0 })
			if _, _, calls := sink.counts(); calls != 1 {
				t.Fatalf("store calls before shutdown: got %d, want 1", calls)
			}
			sink.fail.Store(!tc.recovered)
			if err := stop(); err != nil {
				t.Fatalf("run: got %v, want nil", err)
			}
			unique, dups, calls := sink.counts()
			if unique != tc.wantSink || dups != 0 {
				t.Errorf("sink: got %d unique and %d duplicates, want %d and 0", unique, dups, tc.wantSink)
			}
			if got := spoolLines(t, opts.SpoolPath); got != tc.wantSpool {
				t.Errorf("spool: got %d lines, want %d", got, tc.wantSpool)
			}
			if !tc.recovered && calls != 2 {
				t.Errorf("store calls with the store still down: got %d, want 2 (one try at shutdown)", calls)
			}
		})
	}
}

// failAfterSink accepts its first ok writes, then fails.
type failAfterSink struct {
	*fakeSink
	ok atomic.Int32
}

func (f *failAfterSink) InsertUsage(ctx context.Context, recs []store.UsageRecord) error {
	if f.ok.Add(-1) < 0 {
		return errDown
	}
	return f.fakeSink.InsertUsage(ctx, recs)
}

// TestShutdownReplayFailsHalfway: a replay whose store fails partway
// leaves exactly the records not written in the spool, and a later
// process writes those, so each record reaches the store once.
func TestShutdownReplayFailsHalfway(t *testing.T) {
	const n = 25
	opts := fastOpts(t)
	opts.BatchSize, opts.FlushInterval = 10, time.Hour
	sp := &spool{path: opts.SpoolPath}
	var recs []store.UsageRecord
	for i := range n {
		recs = append(recs, mkRec(i))
	}
	if err := sp.append(recs, true); err != nil {
		t.Fatalf("append: %v", err)
	}
	sp.close()

	// Run's first replay (at start) fails at once; shutdown's writes one
	// batch, then fails.
	sink := &failAfterSink{fakeSink: newFakeSink()}
	sink.ok.Store(0)
	opts.RetryMin, opts.RetryMax = time.Hour, time.Hour
	l := NewLedger(sink, opts)
	stop := start(t, l)
	waitFor(t, "replay at start failed", func() bool { return l.Stats().StoreErrors == 1 })
	sink.ok.Store(1)
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if unique, _, _ := sink.counts(); unique != 10 {
		t.Fatalf("sink after shutdown: got %d, want 10 (one batch)", unique)
	}
	if got := spoolLines(t, opts.SpoolPath); got != n-10 {
		t.Fatalf("spool after shutdown: got %d lines, want %d", got, n-10)
	}

	sink.ok.Store(100)
	l2 := NewLedger(sink, opts)
	stop = start(t, l2)
	waitFor(t, "rest replayed", func() bool { u, _, _ := sink.counts(); return u == n })
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if unique, dups, _ := sink.counts(); unique != n || dups != 0 {
		t.Errorf("sink: got %d unique and %d duplicates, want %d and 0", unique, dups, n)
	}
	assertSpoolEmpty(t, opts.SpoolPath)
}

// hangSink never answers: each write waits for its context to end.
type hangSink struct{ calls atomic.Int32 }

func (h *hangSink) InsertUsage(ctx context.Context, _ []store.UsageRecord) error {
	h.calls.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

// TestShutdownBoundedByWriteTimeout: a store that hangs costs shutdown one
// WriteTimeout in all, not one per batch, and the records stay in the spool.
func TestShutdownBoundedByWriteTimeout(t *testing.T) {
	opts := fastOpts(t)
	opts.SpoolPath = filepath.Join(t.TempDir(), "u.spool")
	opts.BatchSize, opts.FlushInterval, opts.WriteTimeout = 1, time.Hour, 100*time.Millisecond
	sink := &hangSink{}
	l := NewLedger(sink, opts)
	l.mu.Lock()
	l.stopped = true // not running: Enqueue spills
	l.mu.Unlock()
	for i := range 5 {
		l.Enqueue(mkRec(i))
	}
	l.mu.Lock()
	l.stopped = false
	l.mu.Unlock()
	for i := 5; i < 10; i++ {
		l.Enqueue(mkRec(i)) // queued: five batches of one for shutdown
	}
	began := time.Now()
	if err := l.shutdown(context.Background(), nil); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if took := time.Since(began); took > 5*opts.WriteTimeout {
		t.Errorf("shutdown took %v, want about one WriteTimeout (%v)", took, opts.WriteTimeout)
	}
	if got := sink.calls.Load(); got != 1 {
		t.Errorf("store calls: got %d, want 1 (the rest spooled untried)", got)
	}
	if got := spoolLines(t, opts.SpoolPath); got != 10 {
		t.Errorf("spool: got %d lines, want 10", got)
	}
}
