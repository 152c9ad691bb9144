package batch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

// anyKey is a Principals for which every key works.
type anyKey struct{}

func (anyKey) Principal(_ context.Context, keyID string) (*gateway.Principal, error) {
	return &gateway.Principal{TenantID: "t", KeyID: keyID}, nil
}

// runFixture is a store holding one batch in progress of n embeddings
// lines (custom_ids l0, l1, ...), run by runners on a shared clock.
type runFixture struct {
	st    store.Store
	clock *clocktest.Clock
	id    string

	mu     sync.Mutex
	served int // the lines the API was called for
}

func newRunFixture(t *testing.T, n int, expiresIn time.Duration) *runFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &runFixture{st: st, clock: clocktest.New(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)), id: "batch_run"}
	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, `{"custom_id":"l%d","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":"x"}}`+"\n", i)
	}
	now := f.clock.Now()
	if err := st.CreateFile(ctx, store.File{ID: "file-in", TenantID: "t", Purpose: "batch", Filename: "in.jsonl", Bytes: int64(in.Len()), Created: now}, []byte(in.String())); err != nil {
		t.Fatal(err)
	}
	o := &object{ID: f.id, Object: "batch", Endpoint: "/v1/embeddings", InputFileID: "file-in", CompletionWindow: "24h",
		Status: store.BatchInProgress, CreatedAt: now.Unix(), ExpiresAt: unix(now.Add(expiresIn)), RequestCounts: requestCounts{Total: n}}
	if err := st.CreateBatch(ctx, o.encode("t", "key-1", now)); err != nil {
		t.Fatal(err)
	}
	return f
}

// runner is a runner of the fixture's batch whose lines are served by
// serve (after they are counted in f.served); its watcher looks at the
// batch every poll.
func (f *runFixture) runner(owner string, concurrency int, poll time.Duration, serve http.HandlerFunc) *Runner {
	return NewRunner(RunnerOptions{Store: f.st, Principals: anyKey{}, Concurrency: concurrency, Poll: poll,
		Now: f.clock.Now, Lease: 30 * time.Second, Owner: owner,
		API: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			f.mu.Lock()
			f.served++
			f.mu.Unlock()
			serve(w, req)
		})})
}

func (f *runFixture) servedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.served
}

func (f *runFixture) status(t *testing.T) store.Batch {
	t.Helper()
	b, err := f.st.GetBatch(context.Background(), "", f.id)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func answer(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"object":"list","data":[],"usage":{"prompt_tokens":1,"total_tokens":1}}`))
}

// TestRunStartsNoLineAfterShutdown: a replica stopping while a line is in
// flight (its context cancelled) starts no other line, not even the one
// that was waiting for the slot.
func TestRunStartsNoLineAfterShutdown(t *testing.T) {
	f := newRunFixture(t, 5, 24*time.Hour)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	r := f.runner("me", 1, time.Hour, func(w http.ResponseWriter, req *http.Request) {
		stop() // SIGTERM while the first line runs
		answer(w, req)
	})
	if err := r.Run(ctx, f.id); err != context.Canceled {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	if n := f.servedCount(); n != 1 {
		t.Errorf("served %d lines, want 1: no line starts once the replica stops", n)
	}
}

// countingStore counts GetBatch calls, to know when the runner's watcher
// has looked at the batch.
type countingStore struct {
	store.Store
	mu   sync.Mutex
	gets int
}

func (s *countingStore) GetBatch(ctx context.Context, tenantID, id string) (store.Batch, error) {
	s.mu.Lock()
	s.gets++
	s.mu.Unlock()
	return s.Store.GetBatch(ctx, tenantID, id)
}

func (s *countingStore) getCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}

// TestRunStartsNoLineAfterCancel: once the runner sees a batch
// cancelled (or expired), it starts no new line: with one slot, the line
// waiting for it does not run.
func TestRunStartsNoLineAfterCancel(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(t *testing.T, f *runFixture)
		want string
	}{
		{"cancelled", func(t *testing.T, f *runFixture) {
			b := f.status(t)
			b.Status = store.BatchCancelling
			if err := f.st.UpdateBatch(context.Background(), b, store.BatchInProgress); err != nil {
				t.Error(err)
			}
		}, store.BatchCancelled},
		{"expired", func(t *testing.T, f *runFixture) { f.clock.Advance(25 * time.Hour) }, store.BatchExpired},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newRunFixture(t, 5, 24*time.Hour)
			cs := &countingStore{Store: f.st}
			f.st = cs
			var once sync.Once
			r := f.runner("me", 1, 5*time.Millisecond, func(w http.ResponseWriter, req *http.Request) {
				once.Do(func() { tt.end(t, f) })
				// Two looks of the watcher after the change: the first
				// may have begun before it, the second saw it.
				seen := cs.getCount() + 2
				clocktest.WaitFor(t, "the runner to look at the batch", func() bool { return cs.getCount() >= seen })
				answer(w, req)
			})
			if err := r.Run(context.Background(), f.id); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if n := f.servedCount(); n != 1 {
				t.Errorf("served %d lines, want 1: no line starts once the batch is %s", n, tt.want)
			}
			if got := f.status(t).Status; got != tt.want {
				t.Errorf("status %s, want %s", got, tt.want)
			}
		})
	}
}

// TestRunResumedPastExpiry: a batch resumed after its expires_at runs no
// line: it expires with all of them as batch_expired.
func TestRunResumedPastExpiry(t *testing.T) {
	f := newRunFixture(t, 3, time.Hour)
	f.clock.Advance(2 * time.Hour) // the replicas were down meanwhile
	r := f.runner("me", 3, time.Hour, answer)
	if err := r.Run(context.Background(), f.id); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := f.servedCount(); n != 0 {
		t.Errorf("served %d lines of an expired batch, want 0", n)
	}
	b := f.status(t)
	o, _ := decode(b)
	if b.Status != store.BatchExpired || o.ExpiredRequests != 3 {
		t.Errorf("status %s with %d expired requests, want expired with 3", b.Status, o.ExpiredRequests)
	}
}

// TestRunStalledPastLease: a runner that stalled past its lease (a
// paused process) starts no other line once it resumes if another
// runner took the batch over meanwhile; if none did, it renews the
// lease and goes on.
func TestRunStalledPastLease(t *testing.T) {
	for _, takenOver := range []bool{true, false} {
		t.Run(fmt.Sprintf("taken over %v", takenOver), func(t *testing.T) {
			f := newRunFixture(t, 3, 24*time.Hour)
			var once sync.Once
			r := f.runner("a", 1, time.Hour, func(w http.ResponseWriter, req *http.Request) {
				once.Do(func() {
					f.clock.Advance(31 * time.Second) // SIGSTOP, SIGCONT
					if takenOver {
						now := f.clock.Now()
						if ok, err := f.st.ClaimBatch(context.Background(), f.id, "b", now, now.Add(30*time.Second)); !ok || err != nil {
							t.Errorf("runner b's claim: %v %v", ok, err)
						}
					}
				})
				answer(w, req)
			})
			err := r.Run(context.Background(), f.id)
			if takenOver {
				if !errors.Is(err, ErrHeld) || f.servedCount() != 1 {
					t.Errorf("Run: %v with %d lines served, want ErrHeld and 1: the other runner runs the rest", err, f.servedCount())
				}
				return
			}
			if err != nil || f.servedCount() != 3 || f.status(t).Status != store.BatchCompleted {
				t.Errorf("Run: %v with %d lines served, status %s; want nil, 3, completed", err, f.servedCount(), f.status(t).Status)
			}
		})
	}
}

// TestRunBudgetExceededFailsAtOnce: a line refused because a budget is
// spent is not tried again: it goes to the error file at once, as does
// each remaining line, and the batch completes. A 429 of a rate limit,
// or of a budget held by requests in flight (a short Retry-After), is
// still tried again after its Retry-After.
func TestRunBudgetExceededFailsAtOnce(t *testing.T) {
	spent := `{"error":{"message":"budget exceeded","type":"invalid_request_error","code":"budget_exceeded"}}`
	anthropicSpent := `{"type":"error","error":{"type":"rate_limit_error","message":"budget exceeded"}}`
	for _, tt := range []struct {
		name, retryAfter, shouldRetry, body string
	}{
		{"budget_exceeded with a day's Retry-After", "50000", "", spent},
		{"budget_exceeded without Retry-After", "", "false", spent},
		{"budget_exceeded code alone", "", "", spent},
		{"a Retry-After past the runner's cap", "3600", "", anthropicSpent},
		{"X-Should-Retry false", "", "false", anthropicSpent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newRunFixture(t, 3, 24*time.Hour)
			r := f.runner("me", 1, time.Hour, func(w http.ResponseWriter, req *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				if tt.shouldRetry != "" {
					w.Header().Set("X-Should-Retry", tt.shouldRetry)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				w.Write([]byte(tt.body))
			})
			// Without the fix each line waits between tries: give up early.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := r.Run(ctx, f.id); err != nil {
				t.Fatalf("Run: %v", err)
			}
			b := f.status(t)
			o, _ := decode(b)
			if n := f.servedCount(); n != 3 || b.Status != store.BatchCompleted || o.RequestCounts.Failed != 3 || o.ErrorFileID == nil {
				t.Fatalf("served %d, status %s, %+v, error file %v; want 3 tries, completed, 3 failed in the error file", n, b.Status, o.RequestCounts, o.ErrorFileID)
			}
			errs, _ := f.st.FileContent(ctx, "t", *o.ErrorFileID)
			if got := strings.Count(string(errs), `"status_code":429`); got != 3 {
				t.Errorf("error file has %d 429 answers, want 3:\n%s", got, errs)
			}
		})
	}
	// A rate limit is tried again after its Retry-After; so is a budget
	// refusal the guard gives with a Retry-After of a second because
	// requests in flight (the batch's own other lines, often) hold the
	// budget's room: their end makes room.
	for _, tc := range []struct{ name, refusal string }{
		{"budget_exceeded with a short Retry-After is tried again",
			`{"error":{"message":"budget exceeded: retry once requests in flight end","type":"invalid_request_error","code":"budget_exceeded"}}`},
		{"a rate limit is tried again", `{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newRunFixture(t, 1, 24*time.Hour)
			var once sync.Once
			r := f.runner("me", 1, time.Hour, func(w http.ResponseWriter, req *http.Request) {
				refused := false
				once.Do(func() { refused = true })
				if refused {
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(http.StatusTooManyRequests)
					w.Write([]byte(tc.refusal))
					return
				}
				answer(w, req)
			})
			if err := r.Run(context.Background(), f.id); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if b := f.status(t); f.servedCount() != 2 || b.Status != store.BatchCompleted {
				t.Errorf("served %d, status %s; want 2 tries and completed", f.servedCount(), b.Status)
			}
			if o, _ := decode(f.status(t)); o.RequestCounts.Completed != 1 {
				t.Errorf("request counts %+v, want the line completed", o.RequestCounts)
			}
		})
	}
}
