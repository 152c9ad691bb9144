package batch

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

var errStoreDown = errors.New("store down")

// outageStore is a store whose PutBatchResult fails while fail, given how
// many calls came before, says so.
type outageStore struct {
	store.Store
	fail func(calls int) bool

	mu    sync.Mutex
	calls int
}

func (s *outageStore) PutBatchResult(ctx context.Context, batchID string, r store.BatchResult) error {
	s.mu.Lock()
	calls := s.calls
	s.calls++
	s.mu.Unlock()
	if s.fail(calls) {
		return errStoreDown
	}
	return s.Store.PutBatchResult(ctx, batchID, r)
}

// runUntilDone runs the batch as a queue does, again after each failed
// run, at most 5 times; it returns the last run's error.
func runUntilDone(r *Runner, id string) error {
	var err error
	for range 5 {
		if err = r.Run(context.Background(), id); err == nil {
			return nil
		}
	}
	return err
}

// TestRunKeepsAnswerWhileStoreFails: a line answered while the store
// cannot take its result keeps its answer, stored once the store is back,
// instead of running (and being paid for) again.
func TestRunKeepsAnswerWhileStoreFails(t *testing.T) {
	f := newRunFixture(t, 3, 24*time.Hour)
	f.st = &outageStore{Store: f.st, fail: func(calls int) bool { return calls < 3 }}
	r := f.runner("me", 1, time.Hour, answer)
	r.storeRetry = time.Millisecond
	if err := runUntilDone(r, f.id); err != nil {
		t.Fatalf("Run: %v", err)
	}
	b := f.status(t)
	o, _ := decode(b)
	if n := f.servedCount(); n != 3 || b.Status != store.BatchCompleted || o.RequestCounts.Completed != 3 {
		t.Errorf("served %d, status %s, %+v; want 3 lines each served once, completed", n, b.Status, o.RequestCounts)
	}
}

// TestRunDropsUnstoredAnswer: a runner whose store still fails when the
// replica stops, or when another runner took the batch over, gives the
// answer up: the line has no result, and runs again where the batch
// resumes.
func TestRunDropsUnstoredAnswer(t *testing.T) {
	for _, tt := range []struct {
		name string
		// outage runs at the first failed store; Run must then return want.
		outage func(t *testing.T, f *runFixture, stop context.CancelFunc)
		want   error
	}{
		{"the replica stops", func(_ *testing.T, _ *runFixture, stop context.CancelFunc) { stop() }, context.Canceled},
		{"another runner takes over", func(t *testing.T, f *runFixture, _ context.CancelFunc) {
			f.clock.Advance(31 * time.Second)
			now := f.clock.Now()
			if ok, err := f.st.ClaimBatch(context.Background(), f.id, "b", now, now.Add(30*time.Second)); !ok || err != nil {
				t.Errorf("runner b's claim: %v %v", ok, err)
			}
		}, ErrHeld},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newRunFixture(t, 3, 24*time.Hour)
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			st := f.st
			f.st = &outageStore{Store: st, fail: func(calls int) bool {
				if calls == 0 {
					tt.outage(t, f, stop)
				}
				return true
			}}
			// The watcher looks every 5 ms: it sees the lease taken over.
			r := f.runner("me", 1, 5*time.Millisecond, answer)
			r.storeRetry = time.Millisecond
			if err := r.Run(ctx, f.id); !errors.Is(err, tt.want) {
				t.Fatalf("Run: %v, want %v", err, tt.want)
			}
			if n := f.servedCount(); n != 1 {
				t.Errorf("served %d lines, want 1", n)
			}
			var stored []string
			st.BatchResults(context.Background(), f.id, func(res store.BatchResult) error {
				stored = append(stored, string(res.Data))
				return nil
			})
			if len(stored) != 0 {
				t.Errorf("stored results %s, want none", strings.Join(stored, "\n"))
			}
		})
	}
}
