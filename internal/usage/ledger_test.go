package usage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-gw/switchyard/internal/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errDown = errors.New("fake: store down")

// fakeSink records what it is given. It is deliberately not idempotent: a
// record written twice shows up in dups.
type fakeSink struct {
	fail atomic.Bool

	mu    sync.Mutex
	seen  map[string]int
	dups  int
	calls int
}

func newFakeSink() *fakeSink { return &fakeSink{seen: map[string]int{}} }

func (f *fakeSink) InsertUsage(_ context.Context, recs []store.UsageRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail.Load() {
		return errDown
	}
	for _, r := range recs {
		if f.seen[r.RequestID]++; f.seen[r.RequestID] > 1 {
			f.dups++
		}
	}
	return nil
}

func (f *fakeSink) counts() (unique, dups, calls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen), f.dups, f.calls
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// start runs l until the returned stop is called (or the test ends) and
// returns Run's error.
func start(t *testing.T, l *Ledger) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func mkRec(i int) store.UsageRecord {
	return store.UsageRecord{
		RequestID: fmt.Sprintf("req_%06d", i), Time: time.Unix(1700000000, 0).Add(time.Duration(i) * time.Millisecond).UTC(),
		TenantID: "ten_a", KeyID: "key_a", Route: "smart", Deployment: "d", Model: "m",
		Attempts: 1, Status: 200, InputTokens: 10, OutputTokens: 2, CostUSD: 0.5, Latency: time.Millisecond,
	}
}

func fastOpts(t *testing.T) Options {
	return Options{
		QueueSize: 256, BatchSize: 100, FlushInterval: 2 * time.Millisecond,
		RetryMin: time.Millisecond, RetryMax: 10 * time.Millisecond,
		SpoolPath: filepath.Join(t.TempDir(), "usage.spool"),
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}

func assertSpoolEmpty(t *testing.T, path string) {
	t.Helper()
	for _, p := range []string{path, path + ".replay"} {
		if n := countLines(t, p); n != 0 {
			t.Errorf("%s: got %d lines left, want 0", filepath.Base(p), n)
		}
	}
}

// enqueueRange enqueues records [from, to) from four concurrent producers.
func enqueueRange(l *Ledger, from, to int) {
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := from + p; i < to; i += 4 {
				l.Enqueue(mkRec(i))
			}
		})
	}
	wg.Wait()
}

func TestStoreDownHalfway(t *testing.T) {
	const total = 10000
	sink := newFakeSink()
	opts := fastOpts(t)
	l := NewLedger(sink, opts)
	stop := start(t, l)

	enqueueRange(l, 0, 3000)
	waitFor(t, "first records written", func() bool { u, _, _ := sink.counts(); return u > 0 })
	sink.fail.Store(true) // the store is killed
	enqueueRange(l, 3000, 7000)
	waitFor(t, "a failed write", func() bool { return l.Stats().StoreErrors > 0 })
	sink.fail.Store(false) // and comes back
	enqueueRange(l, 7000, total)
	waitFor(t, "all records in the sink", func() bool { u, _, _ := sink.counts(); return u == total })
	if err := stop(); err != nil {
		t.Fatalf("run: got %v, want nil", err)
	}

	unique, dups, _ := sink.counts()
	if unique != total || dups != 0 {
		t.Errorf("sink: got %d unique and %d duplicates, want %d and 0", unique, dups, total)
	}
	st := l.Stats()
	if st.Enqueued != total || st.Dropped != 0 {
		t.Errorf("stats: got enqueued %d dropped %d, want %d and 0", st.Enqueued, st.Dropped, total)
	}
	if st.Spooled+st.Spilled == 0 || st.Replayed != st.Spooled+st.Spilled {
		t.Errorf("stats: got spooled %d + spilled %d, replayed %d; want replayed = spooled + spilled > 0", st.Spooled, st.Spilled, st.Replayed)
	}
	if st.Written+st.Replayed != total {
		t.Errorf("stats: got written %d + replayed %d, want %d", st.Written, st.Replayed, total)
	}
	assertSpoolEmpty(t, opts.SpoolPath)
}

func TestReplayAfterRestart(t *testing.T) {
	const n = 500
	opts := fastOpts(t)
	down := newFakeSink()
	down.fail.Store(true)
	l1 := NewLedger(down, opts)
	stop := start(t, l1)
	enqueueRange(l1, 0, n)
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if st := l1.Stats(); st.Spooled+st.Spilled != n {
		t.Fatalf("first process: got spooled %d + spilled %d, want %d", st.Spooled, st.Spilled, n)
	}
	// A crash mid-write leaves a torn last line. (The spool may have been
	// renamed for a replay that failed at shutdown, the store being down.)
	f, err := os.OpenFile(opts.SpoolPath, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatalf("open spool: %v", err)
	}
	fmt.Fprint(f, `{"request_id":"req_torn","ti`)
	f.Close()

	up := newFakeSink()
	l2 := NewLedger(up, opts) // the restarted process, same spool path
	stop = start(t, l2)
	waitFor(t, "spool replayed", func() bool { u, _, _ := up.counts(); return u == n })
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	unique, dups, _ := up.counts()
	if unique != n || dups != 0 {
		t.Errorf("sink: got %d unique and %d duplicates, want %d and 0", unique, dups, n)
	}
	if st := l2.Stats(); st.Replayed != n || st.BadSpool != 1 {
		t.Errorf("stats: got replayed %d bad %d, want %d and 1", st.Replayed, st.BadSpool, n)
	}
	assertSpoolEmpty(t, opts.SpoolPath)
}

func TestShutdownFlush(t *testing.T) {
	tests := []struct {
		name      string
		storeDown bool
		wantSink  int
		wantSpool int
	}{
		{name: "store up: flushed to the store", wantSink: 10},
		{name: "store down: flushed to the spool", storeDown: true, wantSpool: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := newFakeSink()
			sink.fail.Store(tc.storeDown)
			opts := fastOpts(t)
			opts.FlushInterval, opts.BatchSize = time.Hour, 1000 // only shutdown flushes
			l := NewLedger(sink, opts)
			stop := start(t, l)
			for i := range 10 {
				l.Enqueue(mkRec(i))
			}
			waitFor(t, "queue picked up", func() bool { return l.Stats().Queued == 0 })
			if u, _, _ := sink.counts(); u != 0 {
				t.Fatalf("before shutdown: got %d records in sink, want 0", u)
			}
			if err := stop(); err != nil {
				t.Fatalf("run: %v", err)
			}
			if u, _, _ := sink.counts(); u != tc.wantSink {
				t.Errorf("sink: got %d records, want %d", u, tc.wantSink)
			}
			if got := countLines(t, opts.SpoolPath); got != tc.wantSpool {
				t.Errorf("spool: got %d lines, want %d", got, tc.wantSpool)
			}
		})
	}
}

func TestEnqueueAfterStopSpills(t *testing.T) {
	opts := fastOpts(t)
	l := NewLedger(newFakeSink(), opts)
	stop := start(t, l)
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	l.Enqueue(mkRec(1))
	if st := l.Stats(); st.Spilled != 1 || st.Queued != 0 {
		t.Errorf("stats: got spilled %d queued %d, want 1 and 0", st.Spilled, st.Queued)
	}
	if got := countLines(t, opts.SpoolPath); got != 1 {
		t.Errorf("spool: got %d lines, want 1", got)
	}
}

func TestNoSpoolDropsAndCounts(t *testing.T) {
	l := NewLedger(newFakeSink(), Options{QueueSize: 1})
	for i := range 3 {
		l.Enqueue(mkRec(i))
	}
	if st := l.Stats(); st.Dropped != 2 || st.Queued != 1 || st.Enqueued != 3 {
		t.Errorf("stats: got dropped %d queued %d enqueued %d, want 2, 1, 3", st.Dropped, st.Queued, st.Enqueued)
	}
}

func TestRunTwice(t *testing.T) {
	l := NewLedger(newFakeSink(), fastOpts(t))
	start(t, l)
	waitFor(t, "first Run started", l.running.Load)
	if err := l.Run(context.Background()); err == nil {
		t.Errorf("second Run: got nil error, want one")
	}
}

// TestBackoff drives the clock by hand: while backing off the ledger must
// not touch the store, and once the back-off passes it replays the spool.
func TestBackoff(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Unix(1700000000, 0).UnixNano())
	sink := newFakeSink()
	sink.fail.Store(true)
	opts := fastOpts(t)
	opts.BatchSize, opts.RetryMin, opts.RetryMax = 5, time.Hour, 4*time.Hour
	opts.Now = func() time.Time { return time.Unix(0, now.Load()) }
	l := NewLedger(sink, opts)
	start(t, l)

	enqueueRange(l, 0, 5)
	waitFor(t, "first failure", func() bool { return l.Stats().Spooled == 5 })
	enqueueRange(l, 5, 20)
	waitFor(t, "batches spooled", func() bool { return l.Stats().Spooled == 20 })
	if _, _, calls := sink.counts(); calls != 1 {
		t.Errorf("store calls while backing off: got %d, want 1", calls)
	}
	sink.fail.Store(false)
	now.Add(int64(2 * time.Hour))
	waitFor(t, "replay after back-off", func() bool { return l.Stats().Replayed == 20 })
	if u, _, _ := sink.counts(); u != 20 {
		t.Errorf("sink: got %d records, want 20", u)
	}
	if st := l.Stats(); st.Replayed != 20 || st.StoreErrors != 1 {
		t.Errorf("stats: got replayed %d store errors %d, want 20 and 1", st.Replayed, st.StoreErrors)
	}
}

func TestReplayFileCutsWrittenChunks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.replay")
	sp := &spool{path: path}
	var recs []store.UsageRecord
	for i := range 25 {
		recs = append(recs, mkRec(i))
	}
	if err := sp.append(recs, true); err != nil {
		t.Fatalf("append: %v", err)
	}
	sp.close()
	calls := 0
	written, _, err := replayFile(path, 10, func() bool { return false }, func([]store.UsageRecord) error {
		if calls++; calls == 2 {
			return errDown
		}
		return nil
	})
	if !errors.Is(err, errDown) || written != 10 {
		t.Fatalf("replay: got (%d, %v), want (10, %v)", written, err, errDown)
	}
	if got := countLines(t, path); got != 15 {
		t.Errorf("lines left: got %d, want 15", got)
	}
	var first []store.UsageRecord
	written, _, err = replayFile(path, 10, func() bool { return false }, func(r []store.UsageRecord) error {
		if first == nil {
			first = append(first, r[0])
		}
		return nil
	})
	if err != nil || written != 15 || first[0].RequestID != "req_000010" {
		t.Errorf("second replay: got (%d, %v, first %s), want (15, nil, req_000010)", written, err, first[0].RequestID)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("replay file after success: got %v, want not exist", err)
	}
}

// Record writes before it returns: to the store when it answers, else to
// the spool (synced), never left in the queue.
func TestRecordWritesBeforeReturning(t *testing.T) {
	opts := fastOpts(t)
	sink := newFakeSink()
	l := NewLedger(sink, opts) // not running: nothing else would write
	l.Record(context.Background(), mkRec(1))
	if unique, _, _ := sink.counts(); unique != 1 {
		t.Errorf("store: got %d records, want the one recorded", unique)
	}
	sink.fail.Store(true)
	l.Record(context.Background(), mkRec(2))
	if got := countLines(t, opts.SpoolPath); got != 1 {
		t.Errorf("spool: got %d lines with the store down, want 1", got)
	}
	if st := l.Stats(); st.Written != 1 || st.Spilled != 1 || st.Queued != 0 || st.Enqueued != 2 {
		t.Errorf("stats: %+v, want 1 written, 1 spilled, none queued", st)
	}
}
