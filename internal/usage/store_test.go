package usage

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/postgres"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
	"github.com/switchyard-gw/switchyard/internal/store/storetest"
)

// flakySink fails while down is set, else writes to a real store.
type flakySink struct {
	store.Store
	down atomic.Bool
}

func (f *flakySink) InsertUsage(ctx context.Context, recs []store.UsageRecord) error {
	if f.down.Load() {
		return errDown
	}
	return f.Store.InsertUsage(ctx, recs)
}

func openSQLite(tb testing.TB) store.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "usage.db"))
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func storedIDs(t *testing.T, s store.Store) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	err := s.ExportUsage(t.Context(), time.Time{}, time.Time{}, "", func(r store.UsageRecord) error {
		if ids[r.RequestID] {
			t.Errorf("request %s exported twice", r.RequestID)
		}
		ids[r.RequestID] = true
		return nil
	})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return ids
}

func TestStoreDownHalfwaySQLite(t *testing.T) {
	const total = 10000
	sink := &flakySink{Store: openSQLite(t)}
	opts := fastOpts(t)
	opts.QueueSize, opts.BatchSize = 1000, 500
	l := NewLedger(sink, opts)
	stop := start(t, l)

	enqueueRange(l, 0, 3000)
	waitFor(t, "first records written", func() bool { return l.Stats().Written > 0 })
	sink.down.Store(true)
	enqueueRange(l, 3000, 7000)
	waitFor(t, "a failed write", func() bool { return l.Stats().StoreErrors > 0 })
	sink.down.Store(false)
	enqueueRange(l, 7000, total)
	waitFor(t, "everything written", func() bool {
		st := l.Stats()
		return st.Written+st.Replayed >= total
	})
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := len(storedIDs(t, sink.Store)); got != total {
		t.Errorf("stored records: got %d, want %d", got, total)
	}
	spent, err := sink.SpentUSD(t.Context(), store.SpendQuery{TenantID: "ten_a"})
	if err != nil || spent != total*0.5 {
		t.Errorf("spent: got (%v, %v), want (%v, nil)", spent, err, total*0.5)
	}
	if st := l.Stats(); st.Dropped != 0 || st.Written+st.Replayed != total {
		t.Errorf("stats: got %+v, want written + replayed = %d and nothing dropped", st, total)
	}
	assertSpoolEmpty(t, opts.SpoolPath)
}

// benchLedger pushes b.N records through a ledger into s and reports records/s.
func benchLedger(b *testing.B, s store.Store) {
	l := NewLedger(s, Options{
		QueueSize: 20000, BatchSize: 1000, FlushInterval: 50 * time.Millisecond,
		SpoolPath: filepath.Join(b.TempDir(), "spool"),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	recs := make([]store.UsageRecord, b.N)
	for i := range recs {
		recs[i] = mkRec(i)
		recs[i].RequestID = store.NewID("req")
	}
	b.ResetTimer()
	start := time.Now()
	for i := range recs {
		l.Enqueue(recs[i])
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		st := l.Stats()
		if st.Written+st.Replayed >= uint64(b.N) {
			break
		}
		if st.Dropped > 0 {
			b.Fatalf("dropped %d records", st.Dropped)
		}
		<-tick.C
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

func BenchmarkLedgerSQLite(b *testing.B) {
	benchLedger(b, openSQLite(b))
}

func BenchmarkLedgerPostgres(b *testing.B) {
	s, err := postgres.Open(context.Background(), storetest.PostgresURL(b))
	if err != nil {
		b.Fatalf("open postgres: %v", err)
	}
	defer s.Close()
	benchLedger(b, s)
}

type nopSink struct{}

func (nopSink) InsertUsage(context.Context, []store.UsageRecord) error { return nil }

func BenchmarkEnqueue(b *testing.B) {
	l := NewLedger(nopSink{}, Options{QueueSize: 1 << 16, BatchSize: 1000, SpoolPath: filepath.Join(b.TempDir(), "spool")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	r := mkRec(1)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Enqueue(r)
		}
	})
	b.StopTimer()
	if st := l.Stats(); st.Spilled > 0 {
		b.Logf("spilled %d of %d (consumer slower than producers)", st.Spilled, st.Enqueued)
	}
}
