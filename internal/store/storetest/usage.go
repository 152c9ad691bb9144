package storetest

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// rec builds a usage record; costs are binary-exact so sums compare exactly.
func rec(id string, at time.Time, tenant, key, model string, cost float64) store.UsageRecord {
	return store.UsageRecord{
		RequestID: id, Time: at, TenantID: tenant, KeyID: key, Route: "smart",
		Deployment: "dep-" + model, Model: model, Attempts: 1, Status: 200,
		InputTokens: 100, OutputTokens: 10, CostUSD: cost, Latency: 200 * time.Millisecond,
	}
}

func exportAll(t *testing.T, s store.Store, from, to time.Time, tenant string) []store.UsageRecord {
	t.Helper()
	var out []store.UsageRecord
	if err := s.ExportUsage(t.Context(), from, to, tenant, func(r store.UsageRecord) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatalf("export: %v", err)
	}
	return out
}

func testUsageIdempotent(t *testing.T, s store.Store) {
	ctx := t.Context()
	full := store.UsageRecord{
		RequestID: "req_full", Time: base.Add(1500 * time.Microsecond), TenantID: "ten_a", KeyID: "key_a",
		Route: "smart", Policy: "cost", Reason: "cheapest healthy", Deployment: "openai-eu", Model: "gpt-4o",
		Attempts: 2, Status: 502, ErrorCode: "upstream_unavailable", InputTokens: 1234, CachedInputTokens: 1024, CacheWriteTokens: 100, OutputTokens: 56,
		TokensEstimated: true, CostUSD: 0.0625, Latency: 1234567 * time.Nanosecond, TTFT: 89 * time.Millisecond,
		CacheHit: true, Stream: true, Partial: true,
	}
	batch1 := []store.UsageRecord{full, rec("r1", base, "ten_a", "key_a", "m", 1), rec("r1", base, "ten_a", "key_a", "m", 1)}
	if err := s.InsertUsage(ctx, batch1); err != nil {
		t.Fatalf("insert with a duplicate inside the batch: %v", err)
	}
	changed := full
	changed.CostUSD = 99 // a replay never overwrites the first write
	batch2 := []store.UsageRecord{changed, rec("r2", base.Add(time.Second), "ten_a", "key_a", "m", 2)}
	if err := s.InsertUsage(ctx, batch2); err != nil {
		t.Fatalf("insert overlapping batch: %v", err)
	}
	if err := s.InsertUsage(ctx, batch2); err != nil {
		t.Fatalf("insert same batch again: %v", err)
	}
	if err := s.InsertUsage(ctx, nil); err != nil {
		t.Fatalf("insert empty batch: %v", err)
	}
	got := exportAll(t, s, time.Time{}, time.Time{}, "")
	want := []store.UsageRecord{rec("r1", base, "ten_a", "key_a", "m", 1), full, rec("r2", base.Add(time.Second), "ten_a", "key_a", "m", 2)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored records (-want +got):\n%s", diff)
	}
}

func testUsageConcurrent(t *testing.T, s store.Store) {
	const writers, perBatch, batches = 4, 50, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				var recs []store.UsageRecord
				for i := range perBatch {
					// Writers overlap pairwise: writer w and w+1 share IDs.
					id := fmt.Sprintf("req_%d_%d_%d", (w/2)*2, b, i)
					recs = append(recs, rec(id, base.Add(time.Duration(i)*time.Second), "ten_a", "k", "m", 0.5))
				}
				errs <- s.InsertUsage(t.Context(), recs)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent insert: %v", err)
		}
	}
	if got, want := len(exportAll(t, s, time.Time{}, time.Time{}, "")), writers/2*batches*perBatch; got != want {
		t.Errorf("stored records: got %d, want %d", got, want)
	}
}

func testUsageExport(t *testing.T, s store.Store) {
	ctx := t.Context()
	recs := []store.UsageRecord{
		rec("c", base.Add(2*time.Minute), "ten_a", "k1", "m", 1),
		rec("a", base, "ten_a", "k1", "m", 1),
		rec("b", base.Add(time.Minute), "ten_b", "k2", "m", 1),
		rec("d", base.Add(time.Minute), "ten_a", "k1", "m", 1),
		rec("e", base.Add(3*time.Minute), "ten_a", "k1", "m", 1),
	}
	if err := s.InsertUsage(ctx, recs); err != nil {
		t.Fatalf("insert: %v", err)
	}
	tests := []struct {
		name     string
		from, to time.Time
		tenant   string
		want     []string
	}{
		{"all, ordered by time then id", time.Time{}, time.Time{}, "", []string{"a", "b", "d", "c", "e"}},
		{"from inclusive to exclusive", base.Add(time.Minute), base.Add(3 * time.Minute), "", []string{"b", "d", "c"}},
		{"tenant scoped", time.Time{}, time.Time{}, "ten_a", []string{"a", "d", "c", "e"}},
		{"tenant and range", base.Add(time.Minute), time.Time{}, "ten_b", []string{"b"}},
		{"empty range", base.Add(time.Hour), time.Time{}, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range exportAll(t, s, tc.from, tc.to, tc.tenant) {
				got = append(got, r.RequestID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("exported IDs (-want +got):\n%s", diff)
			}
		})
	}
	stop := errors.New("stop here")
	n := 0
	err := s.ExportUsage(ctx, time.Time{}, time.Time{}, "", func(store.UsageRecord) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Errorf("export with failing callback: got (%v, %d calls), want (%v, 2 calls)", err, n, stop)
	}
}

func usageFixture(t *testing.T, s store.Store) {
	t.Helper()
	h := time.Hour
	recs := []store.UsageRecord{
		rec("1", base.Add(10*time.Minute), "ten_a", "ka", "gpt", 0.5),
		rec("2", base.Add(20*time.Minute), "ten_a", "ka", "claude", 0.25),
		rec("3", base.Add(h+5*time.Minute), "ten_a", "kb", "gpt", 1),
		rec("4", base.Add(h+6*time.Minute), "ten_b", "kc", "gpt", 2),
		rec("5", base.Add(2*h), "ten_b", "kc", "claude", 4),
	}
	recs[1].Status, recs[1].ErrorCode, recs[1].Latency = 429, "rate_limited", 400*time.Millisecond
	recs[2].CacheHit = true
	recs[4].ErrorCode = "stream_cut" // status 200 but failed mid-stream
	recs[0].CachedInputTokens = 64
	recs[3].CachedInputTokens, recs[3].CacheWriteTokens = 32, 50
	if err := s.InsertUsage(t.Context(), recs); err != nil {
		t.Fatalf("insert fixture: %v", err)
	}
}

func testUsageQuery(t *testing.T, s store.Store) {
	usageFixture(t, s)
	h := time.Hour
	ms := time.Millisecond
	tests := []struct {
		name    string
		q       store.UsageQuery
		want    []store.UsageAggregate
		wantErr error
	}{
		{name: "no grouping", q: store.UsageQuery{}, want: []store.UsageAggregate{
			{Requests: 5, Errors: 2, CacheHits: 1, InputTokens: 500, OutputTokens: 50, CachedInputTokens: 96, CacheWriteTokens: 50, CostUSD: 7.75, AvgLatency: 240 * ms},
		}},
		{name: "no rows", q: store.UsageQuery{From: base.Add(5 * h)}, want: nil},
		{name: "by tenant", q: store.UsageQuery{GroupBy: []string{"tenant"}}, want: []store.UsageAggregate{
			{TenantID: "ten_a", Requests: 3, Errors: 1, CacheHits: 1, InputTokens: 300, OutputTokens: 30, CachedInputTokens: 64, CostUSD: 1.75, AvgLatency: 800 * ms / 3},
			{TenantID: "ten_b", Requests: 2, Errors: 1, InputTokens: 200, OutputTokens: 20, CachedInputTokens: 32, CacheWriteTokens: 50, CostUSD: 6, AvgLatency: 200 * ms},
		}},
		{name: "tenant scoped by key and model", q: store.UsageQuery{TenantID: "ten_a", GroupBy: []string{"key", "model"}}, want: []store.UsageAggregate{
			{KeyID: "ka", Model: "claude", Requests: 1, Errors: 1, InputTokens: 100, OutputTokens: 10, CostUSD: 0.25, AvgLatency: 400 * ms},
			{KeyID: "ka", Model: "gpt", Requests: 1, InputTokens: 100, OutputTokens: 10, CachedInputTokens: 64, CostUSD: 0.5, AvgLatency: 200 * ms},
			{KeyID: "kb", Model: "gpt", Requests: 1, CacheHits: 1, InputTokens: 100, OutputTokens: 10, CostUSD: 1, AvgLatency: 200 * ms},
		}},
		{name: "hourly buckets by deployment in range", q: store.UsageQuery{From: base, To: base.Add(2 * h), Bucket: h, GroupBy: []string{"deployment", "route"}}, want: []store.UsageAggregate{
			{BucketStart: base, Deployment: "dep-claude", Route: "smart", Requests: 1, Errors: 1, InputTokens: 100, OutputTokens: 10, CostUSD: 0.25, AvgLatency: 400 * ms},
			{BucketStart: base, Deployment: "dep-gpt", Route: "smart", Requests: 1, InputTokens: 100, OutputTokens: 10, CachedInputTokens: 64, CostUSD: 0.5, AvgLatency: 200 * ms},
			{BucketStart: base.Add(h), Deployment: "dep-gpt", Route: "smart", Requests: 2, CacheHits: 1, InputTokens: 200, OutputTokens: 20, CachedInputTokens: 32, CacheWriteTokens: 50, CostUSD: 3, AvgLatency: 200 * ms},
		}},
		{name: "daily bucket aligned to UTC midnight", q: store.UsageQuery{Bucket: 24 * h, TenantID: "ten_b"}, want: []store.UsageAggregate{
			{BucketStart: base.Truncate(24 * h), Requests: 2, Errors: 1, InputTokens: 200, OutputTokens: 20, CachedInputTokens: 32, CacheWriteTokens: 50, CostUSD: 6, AvgLatency: 200 * ms},
		}},
		{name: "limited", q: store.UsageQuery{GroupBy: []string{"tenant"}, Limit: 1}, want: []store.UsageAggregate{
			{TenantID: "ten_a", Requests: 3, Errors: 1, CacheHits: 1, InputTokens: 300, OutputTokens: 30, CachedInputTokens: 64, CostUSD: 1.75, AvgLatency: 800 * ms / 3},
		}},
		{name: "unknown dimension", q: store.UsageQuery{GroupBy: []string{"prompt"}}, wantErr: store.ErrInvalid},
		{name: "sub-second bucket", q: store.UsageQuery{Bucket: 1500 * ms}, wantErr: store.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.QueryUsage(t.Context(), tc.q)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(approxDuration)); diff != "" {
				t.Errorf("aggregates (-want +got):\n%s", diff)
			}
		})
	}
}

// approxDuration tolerates the rounding of an average.
func approxDuration(a, b time.Duration) bool {
	d := a - b
	return d > -time.Microsecond && d < time.Microsecond
}

func testSpentUSD(t *testing.T, s store.Store) {
	usageFixture(t, s)
	tests := []struct {
		name string
		q    store.SpendQuery
		want float64
	}{
		{"everything", store.SpendQuery{}, 7.75},
		{"tenant", store.SpendQuery{TenantID: "ten_a"}, 1.75},
		{"key", store.SpendQuery{KeyID: "kc"}, 6},
		{"tenant and key", store.SpendQuery{TenantID: "ten_a", KeyID: "kc"}, 0},
		{"since is inclusive", store.SpendQuery{TenantID: "ten_b", Since: base.Add(2 * time.Hour)}, 4},
		{"nothing since", store.SpendQuery{Since: base.Add(48 * time.Hour)}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.SpentUSD(t.Context(), tc.q)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got != tc.want {
				t.Errorf("spent: got %v, want %v", got, tc.want)
			}
		})
	}
}

// testUsageAbsurdRecords: records written before upstream usage
// was clamped (a count of 2^63-1, a negative count or cost) neither break
// the aggregates (SQLite's sum() fails with "integer overflow") nor lower
// them: a negative cost would hand spend back to a budget at warm-up.
func testUsageAbsurdRecords(t *testing.T, s store.Store) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const huge = math.MaxInt64
	recs := []store.UsageRecord{
		{RequestID: "r1", Time: at, KeyID: "k", Status: 200, InputTokens: huge, OutputTokens: huge, CachedInputTokens: huge, CacheWriteTokens: huge, CostUSD: 5},
		{RequestID: "r2", Time: at, KeyID: "k", Status: 200, InputTokens: huge, OutputTokens: huge, CachedInputTokens: huge, CacheWriteTokens: huge, CostUSD: -10},
		{RequestID: "r3", Time: at, KeyID: "k", Status: 200, InputTokens: -1000, OutputTokens: 10, CostUSD: 1},
	}
	if err := s.InsertUsage(t.Context(), recs); err != nil {
		t.Fatalf("insert: %v", err)
	}
	for _, q := range []store.UsageQuery{{}, {GroupBy: []string{store.GroupKey}, Bucket: time.Hour}} {
		got, err := s.QueryUsage(t.Context(), q)
		if err != nil {
			t.Fatalf("query %+v: %v", q, err)
		}
		if len(got) != 1 {
			t.Fatalf("query %+v: got %d rows, want 1", q, len(got))
		}
		a := got[0]
		if a.Requests != 3 || a.InputTokens != huge || a.OutputTokens != huge || a.CachedInputTokens != huge ||
			a.CacheWriteTokens != huge || a.CostUSD != 6 {
			t.Errorf("query %+v: got %+v, want 3 requests, saturated token sums and cost 6", q, a)
		}
	}
	spent, err := s.SpentUSD(t.Context(), store.SpendQuery{KeyID: "k"})
	if err != nil || spent != 6 {
		t.Errorf("got spent %v, %v, want 6 (negative costs count as 0)", spent, err)
	}
}

// testUsageCostSumExact: a sum of many costs comes out as the exact sum to
// 1e-10 USD, the precision costs are recorded in, so that /admin/usage
// equals the sum of the exported records on either store: a plain
// floating-point sum of 20,000 costs of 0.1234567891 is 2469.1357819999,
// not 2469.135782 (found by audit U on PostgreSQL).
func testUsageCostSumExact(t *testing.T, s store.Store) {
	const n, cost = 20_000, 0.1234567891
	base := time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC)
	recs := make([]store.UsageRecord, n)
	for i := range recs {
		recs[i] = rec(fmt.Sprintf("sum-%05d", i), base.Add(time.Duration(i)*time.Millisecond), "ten_sum", "k", "gpt", cost)
	}
	if err := s.InsertUsage(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	got, err := s.QueryUsage(t.Context(), store.UsageQuery{TenantID: "ten_sum"})
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v; want one row", got, err)
	}
	if sum := math.Round(got[0].CostUSD*1e10) / 1e10; sum != 2469.135782 {
		t.Errorf("got a cost of %v (%.10f to 1e-10), want 2469.135782", got[0].CostUSD, sum)
	}
}

// testUsageCostSumPerRecord: the cost of an aggregate is the sum of its
// records' costs each rounded to 1e-10 USD, a negative one as 0, as the
// admin API exports them, also for records an earlier version wrote
// unrounded (0.000007049999999999999, 4e-11) or negative: summed raw and
// rounded after, five of each come out 2e-10 apart (found by audit AR, AR2).
func testUsageCostSumPerRecord(t *testing.T, s store.Store) {
	at := time.Date(2030, 4, 1, 0, 0, 0, 0, time.UTC)
	var recs []store.UsageRecord
	for i, c := range []float64{7.049999999999999e-6, 7.049999999999999e-6, 7.049999999999999e-6, 7.049999999999999e-6, 7.049999999999999e-6,
		4e-11, 4e-11, 4e-11, 4e-11, 4e-11, -0.5, 0.25} {
		recs = append(recs, rec(fmt.Sprintf("legacy-%02d", i), at.Add(time.Duration(i)*time.Second), "ten_legacy", "k", "gpt", c))
	}
	if err := s.InsertUsage(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	const want = 0.25003525 // 5 × 0.00000705 + 5 × 0 + 0 + 0.25
	for _, q := range []store.UsageQuery{
		{TenantID: "ten_legacy"},
		{TenantID: "ten_legacy", GroupBy: []string{store.GroupKey, store.GroupDeployment}, Bucket: 24 * time.Hour},
	} {
		got, err := s.QueryUsage(t.Context(), q)
		if err != nil || len(got) != 1 {
			t.Fatalf("query %+v: got %v, %v; want one row", q, got, err)
		}
		if sum := math.Round(got[0].CostUSD*1e10) / 1e10; sum != want {
			t.Errorf("query %+v: got a cost of %v (%.10f to 1e-10), want %v", q, got[0].CostUSD, sum, want)
		}
	}
}
