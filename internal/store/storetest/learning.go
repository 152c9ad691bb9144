package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/store"
)

func testLearning(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustNil := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	recs := []store.UsageRecord{
		rec("req_1", base, "ten_a", "key_a", "m", 0.002),
		rec("req_2", base, "ten_a", "key_a", "m", 0.004),
		rec("req_3", base, "ten_a", "key_a", "m", 0.006),
		rec("req_4", base, "ten_b", "key_b", "m", 0.008),
		rec("req_old", base, "ten_a", "key_a", "m", 0.001),
	}
	for i := range recs {
		recs[i].Deployment, recs[i].OutputTokens = "dep"+recs[i].RequestID[4:], 10*(i+1)
	}
	mustNil(s.InsertUsage(ctx, recs))
	prompt := func(id, tenant string, at time.Time) {
		t.Helper()
		mustNil(s.PutPrompt(ctx, store.CapturedPrompt{RequestID: id, TenantID: tenant, Route: "auto", Text: "text of " + id, Created: at}))
	}
	prompt("req_1", "ten_a", base)
	prompt("req_2", "ten_a", base.Add(time.Second))
	prompt("req_3", "ten_a", base.Add(2*time.Second))
	prompt("req_4", "ten_b", base)
	prompt("req_old", "ten_a", base.Add(-time.Hour))
	// The first capture of a request stays.
	mustNil(s.PutPrompt(ctx, store.CapturedPrompt{RequestID: "req_1", TenantID: "ten_a", Route: "other", Text: "later", Created: base}))
	fb := func(id, tenant string, q float64) {
		t.Helper()
		mustNil(s.PutFeedback(ctx, store.Feedback{RequestID: id, TenantID: tenant, Quality: q, Created: base.Add(3 * time.Second)}))
	}
	fb("req_1", "ten_a", 0.2)
	fb("req_1", "ten_a", 0.9) // the later judgement wins
	// Another tenant's rating of ten_a's request: not found.
	if err := s.PutFeedback(ctx, store.Feedback{RequestID: "req_2", TenantID: "ten_b", Quality: 1, Created: base}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ten_b rating ten_a's req_2: %v, want ErrNotFound", err)
	}
	fb("req_4", "ten_b", 0)
	fb("req_old", "ten_a", 1)
	// req_3 has no feedback: no example.
	var got []store.TrainingExample
	mustNil(s.TrainingExamples(ctx, base.Add(-time.Minute), func(e store.TrainingExample) error {
		got = append(got, e)
		return nil
	}))
	want := []store.TrainingExample{
		{RequestID: "req_1", TenantID: "ten_a", Route: "auto", Text: "text of req_1", Deployment: "dep1", Quality: 0.9, CostUSD: 0.002, OutputTokens: 10, Created: base},
		{RequestID: "req_4", TenantID: "ten_b", Route: "auto", Text: "text of req_4", Deployment: "dep4", Quality: 0, CostUSD: 0.008, OutputTokens: 40, Created: base},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TrainingExamples (-want +got):\n%s", diff)
	}
	// Usage aggregates count each record's rating of its own tenant.
	aggs, err := s.QueryUsage(ctx, store.UsageQuery{GroupBy: []string{store.GroupDeployment}})
	mustNil(err)
	rated := map[string][2]float64{}
	for _, a := range aggs {
		rated[a.Deployment] = [2]float64{float64(a.Rated), a.AvgQuality}
	}
	wantRated := map[string][2]float64{"dep1": {1, 0.9}, "dep2": {0, 0}, "dep3": {0, 0}, "dep4": {1, 0}, "depold": {1, 1}}
	if diff := cmp.Diff(wantRated, rated); diff != "" {
		t.Errorf("rated and average quality by deployment (-want +got):\n%s", diff)
	}
	mustNil(s.PutFeedback(ctx, store.Feedback{RequestID: "req_3", TenantID: "ten_a", Quality: 0.5, Created: base}))
	// Another tenant cannot replace (or take over) ten_a's rating.
	if err := s.PutFeedback(ctx, store.Feedback{RequestID: "req_3", TenantID: "ten_b", Quality: 0, Created: base}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another tenant's rating of req_3: %v, want ErrNotFound", err)
	}
	// A rating of a request not recorded yet is kept for whoever sends
	// it, per tenant: another tenant's early rating takes nothing from the
	// owner's, before or after the request is known to be the owner's.
	mustNil(s.PutFeedback(ctx, store.Feedback{RequestID: "req_late", TenantID: "ten_b", Quality: 0, Created: base}))
	if err := s.PutFeedback(ctx, store.Feedback{RequestID: "req_late", TenantID: "ten_a", Quality: 0.5, Created: base}); err != nil {
		t.Errorf("the owner rating req_late before its record is written, after another tenant: %v", err)
	}
	prompt("req_late", "ten_a", base)
	if err := s.PutFeedback(ctx, store.Feedback{RequestID: "req_late", TenantID: "ten_a", Quality: 1, Created: base}); err != nil {
		t.Errorf("the owner rating req_late again: %v", err)
	}
	if err := s.PutFeedback(ctx, store.Feedback{RequestID: "req_late", TenantID: "ten_b", Quality: 0, Created: base}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the other tenant rating req_late again: %v, want ErrNotFound", err)
	}
	aggs, err = s.QueryUsage(ctx, store.UsageQuery{TenantID: "ten_a"})
	mustNil(err)
	if len(aggs) != 1 || aggs[0].Requests != 4 || aggs[0].Rated != 3 || aggs[0].AvgQuality < 0.7999 || aggs[0].AvgQuality > 0.8001 {
		t.Errorf("ten_a's aggregate %+v, want 4 requests, 3 rated, mean quality 0.8", aggs)
	}
	// One tenant's data can be purged alone.
	prompt("req_5", "ten_c", base)
	fb("req_5", "ten_c", 1)
	if n, err := s.PurgeLearning(ctx, "ten_c"); err != nil || n != 2 {
		t.Errorf("PurgeLearning(ten_c) = %d, %v; want its prompt and its feedback", n, err)
	}
	// Older than since: left out; deleted by the sweep with its feedback.
	n, err := s.DeleteLearningBefore(ctx, base.Add(-time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("DeleteLearningBefore = %d, %v; want the old prompt (1 row)", n, err)
	}
	got = nil
	mustNil(s.TrainingExamples(ctx, time.Time{}, func(e store.TrainingExample) error {
		got = append(got, e)
		return nil
	}))
	if len(got) != 3 {
		t.Errorf("after the sweep: %d examples, want 3 (req_1, req_3, req_4)", len(got))
	}
	if n, err := s.PurgeLearning(ctx, ""); err != nil || n != 11 {
		t.Errorf("PurgeLearning(all) = %d, %v; want 11 rows (5 prompts, 6 feedback: req_late rated by two tenants)", n, err)
	}
}
