package batch

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// overlap is an API handler that counts how many requests it serves at
// once; each takes hold (the model's time).
type overlap struct {
	hold time.Duration

	mu       sync.Mutex
	inflight int
	most     int
}

func (o *overlap) serve(w http.ResponseWriter, req *http.Request) {
	o.mu.Lock()
	o.inflight++
	o.most = max(o.most, o.inflight)
	o.mu.Unlock()
	time.Sleep(o.hold)
	o.mu.Lock()
	o.inflight--
	o.mu.Unlock()
	answer(w, req)
}

func (o *overlap) mostAtOnce() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.most
}

// TestRunBoundedByKeyMaxConcurrent: a batch whose key (or tenant) may
// have fewer requests in flight than batch.concurrency runs no more lines
// at once than that: beyond it each line was refused by the key's own
// max_concurrent, tried again, and given up after maxTries.
func TestRunBoundedByKeyMaxConcurrent(t *testing.T) {
	for _, tt := range []struct {
		name               string
		keyMax, tenantMax  int
		concurrency, wantN int
	}{
		{"the key's max_concurrent", 1, 0, 4, 1},
		{"the tenant's max_concurrent", 0, 2, 4, 2},
		{"batch.concurrency when lower", 3, 3, 2, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newRunFixture(t, 6, 24*time.Hour)
			ctx := context.Background()
			if err := f.st.CreateTenant(ctx, store.Tenant{ID: "t", Created: f.clock.Now(), MaxConcurrent: tt.tenantMax}); err != nil {
				t.Fatal(err)
			}
			if err := f.st.CreateKey(ctx, store.Key{ID: "key-1", TenantID: "t", Name: "k", Hash: [32]byte{1}, Prefix: "sk-1",
				Created: f.clock.Now(), MaxConcurrent: tt.keyMax}); err != nil {
				t.Fatal(err)
			}
			api := &overlap{hold: 50 * time.Millisecond}
			r := f.runner("me", tt.concurrency, time.Hour, api.serve)
			if err := r.Run(ctx, f.id); err != nil {
				t.Fatalf("Run: %v", err)
			}
			b := f.status(t)
			o, _ := decode(b)
			if b.Status != store.BatchCompleted || o.RequestCounts.Completed != 6 {
				t.Fatalf("status %s, %+v; want completed, 6 completed", b.Status, o.RequestCounts)
			}
			if n := api.mostAtOnce(); n != tt.wantN {
				t.Errorf("%d lines in flight at once, want %d", n, tt.wantN)
			}
		})
	}
}

// TestRunBudgetHeldBySiblings: a line refused because the batch's other
// lines in flight hold the budget's room (budget_exceeded, Retry-After: 1)
// waits for one of them to end and runs fewer at once from then on,
// rather than be refused again at every try while they run (and given up
// after maxTries when the model is slow).
func TestRunBudgetHeldBySiblings(t *testing.T) {
	f := newRunFixture(t, 3, 24*time.Hour)
	var (
		mu       sync.Mutex
		holding  bool
		refusals int
	)
	// The budget has room for one request in flight; a request takes
	// longer than the refusal's Retry-After.
	r := f.runner("me", 2, time.Hour, func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		if holding {
			refusals++
			mu.Unlock()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":{"message":"budget exceeded: retry once requests in flight end","type":"invalid_request_error","code":"budget_exceeded"}}`))
			return
		}
		holding = true
		mu.Unlock()
		time.Sleep(1200 * time.Millisecond) // the model's time
		mu.Lock()
		holding = false
		mu.Unlock()
		answer(w, req)
	})
	if err := r.Run(context.Background(), f.id); err != nil {
		t.Fatalf("Run: %v", err)
	}
	b := f.status(t)
	o, _ := decode(b)
	if b.Status != store.BatchCompleted || o.RequestCounts.Completed != 3 {
		t.Fatalf("status %s, %+v; want completed, 3 completed", b.Status, o.RequestCounts)
	}
	mu.Lock()
	defer mu.Unlock()
	if refusals != 1 {
		t.Errorf("%d refused tries, want 1: the batch runs one line at a time after the first refusal", refusals)
	}
}
