package batch

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

// leasedBatch is an in-memory store with one batch in progress, id, whose
// input file is missing, and whose lease owner took at now for 30 s.
func leasedBatch(t *testing.T, id, owner string, now time.Time) (store.Store, store.Batch) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := store.Batch{ID: id, TenantID: "t", Status: store.BatchInProgress, Created: now, Doc: []byte(`{"input_file_id":"file-x"}`)}
	if err := st.CreateBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.ClaimBatch(ctx, b.ID, owner, now, now.Add(30*time.Second)); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	return st, b
}

// TestRunLeavesAHeldBatch: a batch another runner holds is not run (Run
// says ErrHeld, and Resume does not publish it) until that lease lapses.
func TestRunLeavesAHeldBatch(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st, b := leasedBatch(t, "batch_held", "other", now)
	served := 0
	r := NewRunner(RunnerOptions{Store: st, Now: clock, Lease: 30 * time.Second, Owner: "me",
		API: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ })})
	if err := r.Run(ctx, b.ID); !errors.Is(err, ErrHeld) {
		t.Fatalf("Run on a held batch: %v, want ErrHeld", err)
	}
	q := NewEmbedded(4, nil)
	defer q.Close()
	if err := r.Resume(ctx, q); err != nil || len(q.ch) != 0 {
		t.Fatalf("Resume with the lease live: %v, %d published; want none", err, len(q.ch))
	}
	now = now.Add(31 * time.Second) // the holder went silent
	if err := r.Resume(ctx, q); err != nil || len(q.ch) != 1 {
		t.Fatalf("Resume after the lease lapsed: %v, %d published; want the batch", err, len(q.ch))
	}
	// Now this runner takes it (the input is gone, so it fails at once).
	if err := r.Run(ctx, b.ID); err != nil {
		t.Fatalf("Run after the lease lapsed: %v", err)
	}
	if got, _ := st.GetBatch(ctx, "", b.ID); got.Status != store.BatchFailed || !got.LeaseUntil.IsZero() {
		t.Errorf("taken over: status %s, lease %v; want failed (its input is missing) and the lease released", got.Status, got.LeaseUntil)
	}
	if served != 0 {
		t.Errorf("served %d lines of a batch without input", served)
	}
}

// TestResumeOwnLeaseAtOnce: a runner restarted under the name it had
// (RunnerOptions.Owner) resumes the batches its previous start held at
// once, and runs them; a runner of another name waits for the lease.
func TestResumeOwnLeaseAtOnce(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	// The previous start of pod-0 held it when it crashed.
	st, b := leasedBatch(t, "batch_mine", "pod-0", now)
	api := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	other := NewRunner(RunnerOptions{Store: st, Now: clock, Lease: 30 * time.Second, Owner: "pod-1", API: api})
	q := NewEmbedded(4, nil)
	defer q.Close()
	if err := other.Resume(ctx, q); err != nil || len(q.ch) != 0 {
		t.Fatalf("another replica's Resume: %v, %d published; want none while the lease lasts", err, len(q.ch))
	}
	restarted := NewRunner(RunnerOptions{Store: st, Now: clock, Lease: 30 * time.Second, Owner: "pod-0", API: api})
	if err := restarted.Resume(ctx, q); err != nil || len(q.ch) != 1 {
		t.Fatalf("the restarted replica's Resume: %v, %d published; want its batch", err, len(q.ch))
	}
	if err := restarted.Run(ctx, b.ID); err != nil {
		t.Fatalf("the restarted replica's Run: %v", err)
	}
	if got, _ := st.GetBatch(ctx, "", b.ID); got.Status != store.BatchFailed {
		t.Errorf("status %s, want failed (its input is missing): the restarted replica ran it", got.Status)
	}
}
