// Package usage is the usage ledger: the gateway hands it one record per
// client request, off the request path, and it writes them to the store in
// batches. Records are never dropped while a spool file is configured: when
// the in-memory queue is full, or the store is down, they go to an
// append-only spool file and are replayed once the store answers again.
// Store writes are idempotent on RequestID, so a replay after a crash that
// resends records is harmless.
package usage

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// Sink is where the ledger writes batches; store.Store satisfies it.
// InsertUsage must be idempotent on RequestID and must not retain recs.
type Sink interface {
	InsertUsage(ctx context.Context, recs []store.UsageRecord) error
}

// Options configure a Ledger. Zero values take the defaults noted.
type Options struct {
	// QueueSize bounds the in-memory queue; default 10,000.
	QueueSize int
	// BatchSize is the most records in one store write; default 500.
	BatchSize int
	// FlushInterval is how long a partial batch may wait, and how often a
	// pending spool is retried; default 1s.
	FlushInterval time.Duration
	// SpoolPath is the spool file. Empty disables spooling: records that
	// find the queue full or the store down are then dropped and counted.
	SpoolPath string
	// RetryMin and RetryMax bound the exponential back-off after a store
	// error; defaults 1s and 1m.
	RetryMin, RetryMax time.Duration
	// WriteTimeout bounds one store write, and all of Run's writes at
	// shutdown together; default 10s.
	WriteTimeout time.Duration
	// Logger receives store and spool errors; default discards.
	Logger *slog.Logger
	// Now is the clock for back-off; default time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.QueueSize <= 0 {
		o.QueueSize = 10000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.RetryMin <= 0 {
		o.RetryMin = time.Second
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(time.Minute, o.RetryMin)
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Stats are the ledger's counters, in records, for metrics.
type Stats struct {
	Enqueued    uint64 // handed to Enqueue
	Written     uint64 // written to the store straight from the queue
	Spooled     uint64 // written to the spool because the store failed or was backing off
	Spilled     uint64 // written to the spool because the queue was full or the ledger stopped
	Replayed    uint64 // written to the store from the spool
	Dropped     uint64 // lost: no spool configured, or the spool itself failed
	StoreErrors uint64 // failed store writes (batches)
	BadSpool    uint64 // spool lines that did not decode (a torn write), skipped
	Queued      int    // in the queue now
}

// Ledger batches usage records into a Sink. Enqueue is safe for concurrent
// use and never blocks; Run does the writing and must be called once.
type Ledger struct {
	sink  Sink
	opts  Options
	log   *slog.Logger
	spool *spool // nil when spooling is disabled

	// The queue: records wait in queue, in order, up to QueueSize, and
	// wake tells Run there are some. A slice grown as the backlog needs
	// rather than a channel of QueueSize: a channel's ring buffer is
	// written all the way round whatever the backlog (10,000 records of
	// 256 B, 2.5 MB resident once as many requests went by), and every GC
	// cycle scans it.
	qmu   sync.Mutex
	queue []store.UsageRecord
	wake  chan struct{} // capacity 1

	mu      sync.RWMutex // Enqueue holds it shared; Run's shutdown exclusively
	stopped bool

	running                                      atomic.Bool
	enqueued, written, spooled, spilled          atomic.Uint64
	replayed, dropped, storeErrors, badSpoolLine atomic.Uint64

	// Owned by the Run goroutine.
	failures int       // consecutive store failures
	retryAt  time.Time // store writes wait until then
	draining bool      // in shutdown: a failure ends the store writes
}

// NewLedger returns a ledger writing to sink. Start it with Run.
func NewLedger(sink Sink, opts Options) *Ledger {
	opts.defaults()
	l := &Ledger{sink: sink, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}
	if opts.SpoolPath != "" {
		l.spool = &spool{path: opts.SpoolPath}
	}
	return l
}

// Enqueue hands a record to the ledger without blocking. When the queue is
// full, or Run has stopped, the record is appended to the spool file
// instead (fsynced by Run at its next tick, or at once after Run stopped),
// so it is never dropped unless no spool is configured or the disk fails.
func (l *Ledger) Enqueue(r store.UsageRecord) {
	l.enqueued.Add(1)
	l.mu.RLock()
	if !l.stopped && l.push(r) {
		l.mu.RUnlock()
		return
	}
	stopped := l.stopped
	l.mu.RUnlock()
	l.spill(r, stopped)
}

// push queues r and wakes Run, or returns false when the queue is full.
func (l *Ledger) push(r store.UsageRecord) bool {
	l.qmu.Lock()
	if len(l.queue) >= l.opts.QueueSize {
		l.qmu.Unlock()
		return false
	}
	l.queue = append(l.queue, r)
	l.qmu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default: // Run is already told
	}
	return true
}

// take moves queued records to batch, oldest first, until batch holds
// BatchSize or the queue is empty.
func (l *Ledger) take(batch []store.UsageRecord) []store.UsageRecord {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	n := min(len(l.queue), l.opts.BatchSize-len(batch))
	batch = append(batch, l.queue[:n]...)
	rest := copy(l.queue, l.queue[n:])
	clear(l.queue[rest:]) // no stale strings for the GC to keep
	l.queue = l.queue[:rest]
	if rest == 0 && cap(l.queue) > 4*l.opts.BatchSize {
		l.queue = nil // a burst's backlog is not kept for the next
	}
	return batch
}

// Record writes r before it returns: to the store, or when the store
// fails to the spool, fsynced. For a record whose loss a crash must not
// risk even for a flush interval (a batch line whose answer is about to be
// saved as done, so it would never run, or be billed, again); it costs
// the caller a store write.
func (l *Ledger) Record(ctx context.Context, r store.UsageRecord) {
	l.enqueued.Add(1)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.opts.WriteTimeout)
	err := l.sink.InsertUsage(wctx, []store.UsageRecord{r})
	cancel()
	if err == nil {
		l.written.Add(1)
		return
	}
	l.storeErrors.Add(1)
	l.log.Warn("usage: store write failed; spooling", "records", 1, "err", err)
	l.spill(r, true)
}

func (l *Ledger) spill(r store.UsageRecord, sync bool) {
	if l.spool == nil {
		l.dropped.Add(1)
		return
	}
	if err := l.spool.append([]store.UsageRecord{r}, sync); err != nil {
		l.dropped.Add(1)
		l.log.Error("usage: record lost: spool failed", "request_id", r.RequestID, "err", err)
		return
	}
	l.spilled.Add(1)
}

// Stats returns a snapshot of the counters.
func (l *Ledger) Stats() Stats {
	return Stats{
		Enqueued: l.enqueued.Load(), Written: l.written.Load(), Spooled: l.spooled.Load(),
		Spilled: l.spilled.Load(), Replayed: l.replayed.Load(), Dropped: l.dropped.Load(),
		StoreErrors: l.storeErrors.Load(), BadSpool: l.badSpoolLine.Load(), Queued: l.queued(),
	}
}

func (l *Ledger) queued() int {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	return len(l.queue)
}

// Run writes queued records until ctx is cancelled, then drains the queue,
// writes what it holds (to the store, else the spool), replays the spool
// into the store if it answers, and returns nil; see shutdown. Records
// spooled earlier, including by a previous process using the same spool
// path, are replayed whenever the store is not backing off.
func (l *Ledger) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("usage: ledger already running")
	}
	ticker := time.NewTicker(l.opts.FlushInterval)
	defer ticker.Stop()
	batch := make([]store.UsageRecord, 0, l.opts.BatchSize)
	// A batch in flight when ctx is cancelled still completes, within
	// WriteTimeout.
	wctx := context.WithoutCancel(ctx)
	l.maybeReplay(ctx)
	for {
		select {
		case <-ctx.Done():
			return l.shutdown(ctx, batch)
		case <-l.wake:
			// Full batches go at once; a partial one waits for more,
			// up to the next tick.
			for batch = l.take(batch); len(batch) >= l.opts.BatchSize; batch = l.take(batch) {
				l.flush(wctx, batch)
				batch = batch[:0]
			}
		case <-ticker.C:
			if len(batch) > 0 {
				l.flush(wctx, batch)
				batch = batch[:0]
			}
			if l.spool != nil {
				if err := l.spool.sync(); err != nil {
					l.log.Error("usage: spool sync failed", "err", err)
				}
			}
			l.maybeReplay(ctx)
		}
	}
}

// shutdown is Run's last step, and this process's last chance to put its
// records in the store rather than leave them in the spool for the next
// process using the same path (which a replica scaled away never is). It
// writes what the queue holds, then replays the spool: the records spilled
// while the queue was full, or spooled during a store outage now over.
// A back-off from earlier failures is ended first, so the store is tried
// once more; the first write that fails sends the rest to the spool
// untried. All of it shares one WriteTimeout: a replay stopped by that
// deadline, or by a failed write, leaves the records not yet written in
// the spool, and removes those written.
func (l *Ledger) shutdown(ctx context.Context, batch []store.UsageRecord) error {
	l.mu.Lock()
	l.stopped = true // from now on Enqueue spills straight to the spool
	l.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.opts.WriteTimeout)
	defer cancel()
	l.failures, l.retryAt, l.draining = 0, time.Time{}, true
	for batch = l.take(batch); len(batch) >= l.opts.BatchSize; batch = l.take(batch) {
		l.flush(sctx, batch)
		batch = batch[:0]
	}
	if len(batch) > 0 {
		l.flush(sctx, batch)
	}
	if l.spool != nil {
		// A replay file left by an earlier replay, then the spool.
		for range 2 {
			if !l.replay(sctx, func() bool { return sctx.Err() != nil }) {
				break
			}
		}
		if l.spool.hasData() {
			l.log.Warn("usage: records left in the spool at exit; a process started with the same spool path replays them",
				"path", l.opts.SpoolPath)
		}
		if err := l.spool.close(); err != nil {
			l.log.Error("usage: spool close failed", "err", err)
		}
	}
	return nil
}

// write sends one batch to the sink, within WriteTimeout and ctx's deadline.
func (l *Ledger) write(ctx context.Context, recs []store.UsageRecord) error {
	wctx, cancel := context.WithTimeout(ctx, l.opts.WriteTimeout)
	defer cancel()
	err := l.sink.InsertUsage(wctx, recs)
	if err != nil {
		l.storeErrors.Add(1)
		l.failures++
		backoff := l.opts.RetryMin << min(l.failures-1, 30)
		if backoff > l.opts.RetryMax || backoff <= 0 {
			backoff = l.opts.RetryMax
		}
		l.retryAt = l.opts.Now().Add(backoff)
		l.log.Warn("usage: store write failed; spooling", "records", len(recs), "retry_in", backoff, "err", err)
		return err
	}
	l.failures, l.retryAt = 0, time.Time{}
	return nil
}

func (l *Ledger) backingOff() bool {
	if l.draining {
		return l.failures > 0
	}
	return !l.retryAt.IsZero() && l.opts.Now().Before(l.retryAt)
}

// flush writes batch to the store, within ctx's deadline, or to the spool
// when the store fails or is backing off.
func (l *Ledger) flush(ctx context.Context, batch []store.UsageRecord) {
	if !l.backingOff() {
		if err := l.write(ctx, batch); err == nil {
			l.written.Add(uint64(len(batch)))
			return
		}
	}
	if l.spool == nil {
		l.dropped.Add(uint64(len(batch)))
		return
	}
	if err := l.spool.append(batch, true); err != nil {
		l.dropped.Add(uint64(len(batch)))
		l.log.Error("usage: records lost: store and spool both failed", "records", len(batch), "err", err)
		return
	}
	l.spooled.Add(uint64(len(batch)))
}

// maybeReplay replays one spool file while Run runs, stopping between
// batches once ctx is cancelled (shutdown then takes over).
func (l *Ledger) maybeReplay(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	l.replay(context.WithoutCancel(ctx), func() bool { return ctx.Err() != nil })
}

// replay replays one spool file, when there is one and the store is not
// backing off, writing within ctx's deadline and checking stop between
// batches. It reports whether it replayed a whole file.
func (l *Ledger) replay(ctx context.Context, stop func() bool) bool {
	if l.spool == nil || l.backingOff() || !l.spool.hasData() {
		return false
	}
	path, ok, err := l.spool.take()
	if err != nil {
		l.log.Error("usage: spool replay failed", "err", err)
		return false
	}
	if !ok {
		return false
	}
	n, bad, err := replayFile(path, l.opts.BatchSize, stop, func(recs []store.UsageRecord) error {
		if err := l.write(ctx, recs); err != nil {
			return err
		}
		l.replayed.Add(uint64(len(recs)))
		return nil
	})
	l.badSpoolLine.Add(uint64(bad))
	if bad > 0 {
		l.log.Warn("usage: skipped undecodable spool lines", "lines", bad)
	}
	if err != nil && !errors.Is(err, errStopped) {
		l.log.Warn("usage: spool replay interrupted", "replayed", n, "err", err)
	}
	return err == nil
}
