package batch

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// TestRunGivesBackThrottledBatch: a line whose key's rate limit asks it
// to wait longer than YieldAfter does not wait in the worker (other
// tenants' batches wait for workers): the run ends with Throttled, the
// lease given up and the answered lines kept, Resume leaves the batch
// alone until the wait is over, and the next run serves only the lines
// not answered.
func TestRunGivesBackThrottledBatch(t *testing.T) {
	f := newRunFixture(t, 4, 24*time.Hour)
	var limited atomic.Bool
	limited.Store(true)
	r := f.runner("me", 1, time.Hour, func(w http.ResponseWriter, req *http.Request) {
		if limited.Load() && f.servedCount() > 1 {
			w.Header().Set("Retry-After", "20")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":{"message":"rate limit exceeded","type":"requests","code":"rate_limit_exceeded"}}`))
			return
		}
		answer(w, req)
	})
	// Without the fix the line waits 20s in the worker, then again.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.Run(ctx, f.id)
	var th *Throttled
	if !errors.As(err, &th) || th.Wait != 20*time.Second {
		t.Fatalf("Run: %v, want Throttled for 20s", err)
	}
	if n := f.servedCount(); n != 2 {
		t.Fatalf("served %d, want 2 (line 1 answered, line 2 refused)", n)
	}
	b := f.status(t)
	if b.Status != store.BatchInProgress || !b.LeaseUntil.IsZero() {
		t.Fatalf("status %s, lease until %v; want in_progress, the lease given up", b.Status, b.LeaseUntil)
	}
	q := NewEmbedded(10, nil)
	if err := r.Resume(ctx, q); err != nil || len(q.ch) != 0 {
		t.Fatalf("Resume while it rests: %v, %d published; want none", err, len(q.ch))
	}
	// Published again early (a duplicate): it still rests.
	if err := r.Run(ctx, f.id); !errors.As(err, &th) || f.servedCount() != 2 {
		t.Fatalf("Run before the wait ended: %v, served %d; want Throttled and nothing served", err, f.servedCount())
	}

	limited.Store(false)
	f.clock.Advance(20 * time.Second)
	if err := r.Run(ctx, f.id); err != nil {
		t.Fatalf("Run after the wait: %v", err)
	}
	b = f.status(t)
	o, _ := decode(b)
	if b.Status != store.BatchCompleted || o.RequestCounts.Completed != 4 || f.servedCount() != 5 {
		t.Fatalf("status %s, %+v, served %d; want completed, 4 completed, 5 served (line 1 not again)", b.Status, o.RequestCounts, f.servedCount())
	}
	out, _ := f.st.FileContent(ctx, "t", *o.OutputFileID)
	for _, id := range []string{"l0", "l1", "l2", "l3"} {
		if strings.Count(string(out), `"custom_id":"`+id+`"`) != 1 {
			t.Errorf("output has %s %d times, want once:\n%s", id, strings.Count(string(out), `"custom_id":"`+id+`"`), out)
		}
	}
}

// TestEmbeddedRequeuesThrottled: a batch given back (Throttled) is
// published again after the wait it asked for, behind the batches
// published meanwhile, not after the queue's pause for failures.
func TestEmbeddedRequeuesThrottled(t *testing.T) {
	q := NewEmbedded(10, nil)
	q.retry = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu    sync.Mutex
		order []string
	)
	handle := func(_ context.Context, id string) error {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, id)
		if id == "a" && len(order) == 1 {
			return &Throttled{Wait: 10 * time.Millisecond}
		}
		return nil
	}
	q.Publish(ctx, "a")
	q.Publish(ctx, "b")
	done := make(chan struct{})
	go func() { q.Run(ctx, 1, handle); close(done) }()
	clocktest.WaitFor(t, "a run again", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(order) == 3
	})
	cancel()
	<-done
	if got := strings.Join(order, ","); got != "a,b,a" {
		t.Errorf("ran %s, want a,b,a", got)
	}
}
