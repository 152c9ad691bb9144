package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// TestUsageEqualsExportedRecords: /admin/usage's cost equals the sum of the
// exported records' (CSV and JSON Lines) also for records an earlier
// version wrote unrounded or negative: each record counts rounded to 1e-10,
// a negative one as 0, in both (found by audit AR, AR2).
func TestUsageEqualsExportedRecords(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{})
	base := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	var recs []store.UsageRecord
	for i, c := range []float64{7.049999999999999e-6, 7.049999999999999e-6, 7.049999999999999e-6, 7.049999999999999e-6, 7.049999999999999e-6,
		4e-11, 4e-11, 4e-11, 4e-11, 4e-11, -0.5, 0.25} {
		recs = append(recs, store.UsageRecord{RequestID: fmt.Sprintf("r%02d", i), Time: base.Add(time.Duration(i) * time.Second),
			TenantID: "t1", KeyID: "k", Status: 200, CostUSD: c})
	}
	if err := e.st.InsertUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	const want = 0.25003525
	code, b := e.doRaw(adminKey, "GET", "/admin/usage?tenant_id=t1&from=2030-01-01T00:00:00Z", "")
	var u struct{ Usage []UsageRow }
	if err := json.Unmarshal([]byte(b), &u); code != 200 || err != nil || len(u.Usage) != 1 || u.Usage[0].CostUSD != want {
		t.Errorf("usage: got %d %s, want one row costing %v", code, b, want)
	}

	sum := func(costs []string) float64 {
		var s float64
		for _, c := range costs {
			v, err := strconv.ParseFloat(c, 64)
			if err != nil || v < 0 {
				t.Errorf("exported cost_usd %q, want a number ≥ 0", c)
			}
			s += v
		}
		return math.Round(s*1e10) / 1e10
	}
	code, b = e.doRaw(adminKey, "GET", "/admin/usage/export?format=csv&tenant_id=t1", "")
	lines := strings.Split(strings.TrimSpace(b), "\n")
	if code != 200 || len(lines) != len(recs)+1 {
		t.Fatalf("csv: got %d %q, want a header and %d records", code, b, len(recs))
	}
	col := -1
	for i, name := range strings.Split(lines[0], ",") {
		if name == "cost_usd" {
			col = i
		}
	}
	var costs []string
	for _, l := range lines[1:] {
		costs = append(costs, strings.Split(l, ",")[col])
	}
	if got := sum(costs); got != want {
		t.Errorf("csv: records sum to %v (%q), want %v", got, costs, want)
	}
	code, b = e.doRaw(adminKey, "GET", "/admin/usage/export?format=jsonl&tenant_id=t1", "")
	costs = nil
	for _, l := range strings.Split(strings.TrimSpace(b), "\n") {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &raw); err != nil || code != 200 {
			t.Fatalf("jsonl: got %d %q (%v)", code, l, err)
		}
		costs = append(costs, string(raw["cost_usd"]))
	}
	if got := sum(costs); got != want {
		t.Errorf("jsonl: records sum to %v (%q), want %v", got, costs, want)
	}
}
