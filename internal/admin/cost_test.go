package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// TestUsageCostsRounded: /admin/usage sums and the CSV and JSONL exports
// show costs to 1e-10 USD, as X-Switchyard-Cost does, without the float
// noise of the store's sums or of a record that carries it (the float
// sum (7×0.15 + 10×0.6)/1e6 is 0.000007049999999999999).
func TestUsageCostsRounded(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{})
	base := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	in, out := []float64{7, 6}, []float64{10, 32}
	costs := []float64{(in[0]*0.15 + out[0]*0.6) / 1e6, (in[1]*0.15 + out[1]*0.6) / 1e6}
	wantRec := []string{"0.00000705", "0.0000201"}
	var recs []store.UsageRecord
	for i, c := range costs {
		if s := fmt.Sprint(c); s == wantRec[i] {
			t.Fatalf("cost %d is %s in float arithmetic: no noise to test with", i, s)
		}
		recs = append(recs, store.UsageRecord{RequestID: fmt.Sprintf("r%d", i), Time: base.Add(time.Duration(i) * time.Minute),
			TenantID: "t1", KeyID: "k", Status: 200, CostUSD: c})
	}
	if err := e.st.InsertUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	code, b := e.doRaw(adminKey, "GET", "/admin/usage?group_by=tenant&from=2030-01-01T00:00:00Z", "")
	if want := `"cost_usd":0.00002715,`; code != 200 || !strings.Contains(b, want) {
		t.Errorf("usage: got %d %s, want %s", code, b, want)
	}
	code, b = e.doRaw(adminKey, "GET", "/admin/usage/export?format=csv", "")
	lines := strings.Split(strings.TrimSpace(b), "\n")
	if code != 200 || len(lines) != 3 {
		t.Fatalf("csv: got %d %q, want a header and 2 records", code, b)
	}
	col := 0
	for i, name := range strings.Split(lines[0], ",") {
		if name == "cost_usd" {
			col = i
		}
	}
	for i, l := range lines[1:] {
		if got := strings.Split(l, ",")[col]; got != wantRec[i] {
			t.Errorf("csv record %d: cost_usd %s, want %s", i, got, wantRec[i])
		}
	}
	code, b = e.doRaw(adminKey, "GET", "/admin/usage/export?format=jsonl", "")
	for i, l := range strings.Split(strings.TrimSpace(b), "\n") {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &raw); err != nil || code != 200 {
			t.Fatalf("jsonl: got %d %q (%v)", code, l, err)
		}
		if got := string(raw["cost_usd"]); got != wantRec[i] {
			t.Errorf("jsonl record %d: cost_usd %s, want %s", i, got, wantRec[i])
		}
	}
}
