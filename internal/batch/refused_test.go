package batch

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// revokedKey is a Principals that refuses every key, as the tenancy guard
// refuses a revoked one.
type revokedKey struct{}

func (revokedKey) Principal(context.Context, string) (*gateway.Principal, error) {
	return nil, &gateway.Denied{Status: 401, Code: "invalid_api_key", Type: "authentication_error", Message: "invalid or missing API key"}
}

// queuedUsage is a gateway.Recorder that keeps the records it is given,
// and how each came: "queued" (Enqueue) or "written" (Record).
type queuedUsage struct {
	mu   sync.Mutex
	recs map[string]store.UsageRecord
	how  map[string]string
}

func newQueuedUsage() *queuedUsage {
	return &queuedUsage{recs: map[string]store.UsageRecord{}, how: map[string]string{}}
}

func (u *queuedUsage) Enqueue(rec store.UsageRecord) { u.add(rec, "queued") }

func (u *queuedUsage) add(rec store.UsageRecord, how string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.recs[rec.RequestID], u.how[rec.RequestID] = rec, how
}

func (u *queuedUsage) get(id string) (store.UsageRecord, string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	rec, ok := u.recs[id]
	return rec, u.how[id], ok
}

// durableUsage is a gateway.DurableRecorder, as the usage ledger is.
type durableUsage struct{ *queuedUsage }

func (u durableUsage) Record(_ context.Context, rec store.UsageRecord) { u.add(rec, "written") }

// recordedFirst is a store that checks, as each line's result is stored,
// that the line's usage record is in already.
type recordedFirst struct {
	store.Store
	t     *testing.T
	usage *queuedUsage
}

func (s *recordedFirst) PutBatchResult(ctx context.Context, batchID string, r store.BatchResult) error {
	id := gjson.GetBytes(r.Data, "response.request_id").String()
	if _, _, ok := s.usage.get(id); !ok {
		s.t.Errorf("line %d stored before its usage record (request %q)", r.Line, id)
	}
	return s.Store.PutBatchResult(ctx, batchID, r)
}

// TestRunRefusedLineRecorded: a line refused because the batch's key no
// longer works gets a usage record of its own (the refusal's status and
// error code, the batch's tenant and key, no cost) under the request_id
// of its answer, as a refused client request does: written before the
// line's result is stored when the recorder can, else queued.
func TestRunRefusedLineRecorded(t *testing.T) {
	for _, tt := range []struct {
		name    string
		durable bool
		how     string
	}{
		{"a durable recorder", true, "written"},
		{"a queue", false, "queued"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newRunFixture(t, 3, 24*time.Hour)
			usage := newQueuedUsage()
			var rec gateway.Recorder = usage
			if tt.durable {
				rec = durableUsage{usage}
				f.st = &recordedFirst{Store: f.st, t: t, usage: usage}
			}
			// No line reaches the gateway: the runner has no API.
			r := NewRunner(RunnerOptions{Store: f.st, Principals: revokedKey{}, Recorder: rec, Now: f.clock.Now})
			if err := r.Run(context.Background(), f.id); err != nil {
				t.Fatalf("Run: %v", err)
			}
			b := f.status(t)
			o, _ := decode(b)
			if b.Status != store.BatchCompleted || o.RequestCounts.Failed != 3 || o.ErrorFileID == nil {
				t.Fatalf("status %s, %+v, error file %v; want completed with 3 refused lines", b.Status, o.RequestCounts, o.ErrorFileID)
			}
			errs, err := f.st.FileContent(context.Background(), "t", *o.ErrorFileID)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(strings.TrimSpace(string(errs)), "\n") {
				id := gjson.Get(l, "response.request_id").String()
				got, how, ok := usage.get(id)
				if !ok {
					t.Errorf("line %s: no usage record for its request_id %q", gjson.Get(l, "custom_id"), id)
					continue
				}
				want := store.UsageRecord{RequestID: id, Time: f.clock.Now(), TenantID: "t", KeyID: "key-1", Status: 401, ErrorCode: "invalid_api_key"}
				if got != want || how != tt.how {
					t.Errorf("line %s: record %+v %s, want %+v %s", gjson.Get(l, "custom_id"), got, how, want, tt.how)
				}
			}
		})
	}
}
