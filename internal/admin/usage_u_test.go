package admin

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// The CSV export's text cells are text to a spreadsheet: one beginning
// with =, +, - or @ gets a leading ', so tenant "-1-1" is not shown as -2
// nor a model "=HYPERLINK(…)" run; and avg_quality comes out to six
// places, as both stores then agree (0.1, 0.2 and 0.3 averaged to
// 0.19999999999999998 on SQLite) (found by audit U).
func TestUsageExportCellsAndQuality(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{})
	base := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	var recs []store.UsageRecord
	for i, q := range []float64{0.1, 0.2, 0.3} {
		id := "r" + string(rune('a'+i))
		recs = append(recs, store.UsageRecord{RequestID: id, Time: base.Add(time.Duration(i) * time.Minute), TenantID: "t1",
			KeyID: "k", Route: "auto", Deployment: "d", Model: "=HYPERLINK(\"x\")", Status: 200, CostUSD: 0.5})
		if err := e.st.PutFeedback(context.Background(), store.Feedback{RequestID: id, TenantID: "t1", Quality: q, Created: base}); err != nil {
			t.Fatal(err)
		}
	}
	recs = append(recs, store.UsageRecord{RequestID: "rz", Time: base, TenantID: "-1-1", KeyID: "@k", Route: "+r", Status: 200})
	if err := e.st.InsertUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	code, b := e.do(adminKey, "GET", "/admin/usage/export?format=csv", nil)
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if code != 200 || err != nil || len(rows) != 5 {
		t.Fatalf("got %d, %d rows (%v): %s", code, len(rows), err, b)
	}
	for _, row := range rows[1:] {
		for _, c := range []string{row[2], row[3], row[4], row[8]} { // tenant, key, route, model
			if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
				t.Errorf("cell %q of %v is read as a formula", c, row)
			}
		}
	}
	if !strings.Contains(string(b), "'-1-1") {
		t.Errorf("tenant -1-1 not written as '-1-1: %s", b)
	}
	code, b = e.do(adminKey, "GET", "/admin/usage?tenant_id=t1", nil)
	if code != 200 || !strings.Contains(string(b), `"avg_quality":0.2}`) {
		t.Errorf("got %d %s, want avg_quality 0.2", code, b)
	}
}
