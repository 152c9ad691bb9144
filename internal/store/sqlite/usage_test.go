package sqlite_test

import (
	"math"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

// TestUsageSumsSurviveAbsurdRecords: records written before upstream usage
// was clamped (a count of 2^63-1, a negative count or cost) neither break
// the aggregates (SQLite's sum() fails with "integer overflow") nor lower
// them: a negative cost would hand spend back to a budget at warm-up.
func TestUsageSumsSurviveAbsurdRecords(t *testing.T) {
	s, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
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
