package batch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Queue hands batches to workers. Publish is called once a batch is
// stored; Run calls handle for each published batch with at most workers
// at once, until ctx ends. handle returns nil when the batch is finished
// (or gone) and an error when it should be tried again later; it returns
// ctx's error when the replica is stopping.
type Queue interface {
	Publish(ctx context.Context, batchID string) error
	Run(ctx context.Context, workers int, handle func(ctx context.Context, batchID string) error) error
	Close()
}

// ErrQueueFull is returned by an embedded queue's Publish when it holds
// as many batches as it can.
var ErrQueueFull = errors.New("batch: the embedded queue is full")

// Embedded is the queue of one replica: batches wait in memory. The
// unfinished batches no runner holds a lease on (see Runner.Resume) are
// published when the replica starts and every lease after, so replicas
// sharing a store take over each other's batches; NATS hands batches out
// at once instead.
type Embedded struct {
	ch    chan string
	retry time.Duration
	log   *slog.Logger

	mu     sync.Mutex
	timers []*time.Timer
	closed bool
}

// NewEmbedded returns an embedded queue holding up to size batches.
func NewEmbedded(size int, log *slog.Logger) *Embedded {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Embedded{ch: make(chan string, size), retry: 10 * time.Second, log: log}
}

// Publish queues batchID, or fails with ErrQueueFull without waiting.
func (q *Embedded) Publish(_ context.Context, batchID string) error {
	select {
	case q.ch <- batchID:
		return nil
	default:
		return ErrQueueFull
	}
}

// Run runs workers until ctx ends. A batch whose handler failed is
// published again after a pause; one it gave back (Throttled) after the
// wait it asked for, behind the batches published meanwhile.
func (q *Embedded) Run(ctx context.Context, workers int, handle func(context.Context, string) error) error {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case id := <-q.ch:
					// A batch another replica holds is published again by
					// Resume once its lease lapses, not retried here.
					err := handle(ctx, id)
					var th *Throttled
					switch {
					case err == nil || ctx.Err() != nil || errors.Is(err, ErrHeld):
					case errors.As(err, &th):
						q.later(id, th.Wait)
					default:
						q.log.Warn("batch: will retry", "batch", id, "in", q.retry, "err", err)
						q.later(id, q.retry)
					}
				}
			}
		})
	}
	wg.Wait()
	q.Close()
	return ctx.Err()
}

func (q *Embedded) later(id string, d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.timers = append(q.timers, time.AfterFunc(d, func() {
		if err := q.Publish(context.Background(), id); err != nil {
			q.log.Error("batch: could not queue a batch again; it resumes at the next start", "batch", id, "err", err)
		}
	}))
}

// Close stops pending retries.
func (q *Embedded) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	for _, t := range q.timers {
		t.Stop()
	}
	q.timers = nil
}
