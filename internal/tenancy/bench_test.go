package tenancy

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/usage"
)

type discardSink struct{}

func (discardSink) InsertUsage(context.Context, []store.UsageRecord) error { return nil }

// BenchmarkRequestPath is the tenancy layer's share of one request with
// the in-memory backends: authenticate a virtual key (cached), admit it
// against key and tenant RPM, TPM, concurrency and daily and monthly
// budgets, settle, and enqueue its usage record to a running ledger.
func BenchmarkRequestPath(b *testing.B) {
	f := newFixture(b, false)
	ctx := context.Background()
	f.addKey(b, "t1", "sk-bench", func(k *store.Key) {
		k.RPM, k.TPM, k.MaxConcurrent, k.BudgetDailyUSD, k.BudgetMonthlyUSD = 1e9, 1e12, 1e6, 1e9, 1e9
	})
	if err := f.st.UpdateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", RPM: 1e9, TPM: 1e12, MaxConcurrent: 1e6, BudgetDailyUSD: 1e9, BudgetMonthlyUSD: 1e9}); err != nil {
		b.Fatal(err)
	}
	l := usage.NewLedger(discardSink{}, usage.Options{QueueSize: 1 << 16, BatchSize: 500, FlushInterval: time.Millisecond})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Run(rctx) }()
	defer func() { cancel(); <-done }()
	h := http.Header{"Authorization": {"Bearer sk-bench"}}
	rec := store.UsageRecord{RequestID: "req_bench", Route: "r", Status: 200, InputTokens: 10, OutputTokens: 20}
	b.ReportAllocs()
	for b.Loop() {
		p, err := f.g.Authenticate(ctx, h)
		if err != nil {
			b.Fatal(err)
		}
		a, err := f.g.Admit(ctx, p, "r", 30, 1e-6)
		if err != nil {
			b.Fatal(err)
		}
		a.Settle(10, 20, 1e-6)
		rec.TenantID, rec.KeyID = p.TenantID, p.KeyID
		l.Enqueue(rec)
	}
	b.StopTimer()
	if st := l.Stats(); st.Dropped != 0 {
		b.Fatalf("got %d records dropped, want 0", st.Dropped)
	}
}
