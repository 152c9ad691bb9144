package usage

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestCollectorExportsStats checks every ledger counter reaches the
// registry under its documented name, with values that follow Stats.
func TestCollectorExportsStats(t *testing.T) {
	l := NewLedger(newFakeSink(), Options{QueueSize: 2})
	for i := range 5 {
		l.Enqueue(mkRec(i)) // 2 queued, 3 dropped (no spool)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(l.Collector()); err != nil {
		t.Fatalf("register: %v", err)
	}
	want := `
# HELP switchyard_usage_queue_depth Usage records waiting in the ledger's in-memory queue.
# TYPE switchyard_usage_queue_depth gauge
switchyard_usage_queue_depth 2
# HELP switchyard_usage_records_dropped_total Usage records lost: no spool configured, or the spool failed.
# TYPE switchyard_usage_records_dropped_total counter
switchyard_usage_records_dropped_total 3
# HELP switchyard_usage_records_enqueued_total Usage records handed to the ledger (one per client request).
# TYPE switchyard_usage_records_enqueued_total counter
switchyard_usage_records_enqueued_total 5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"switchyard_usage_queue_depth", "switchyard_usage_records_dropped_total", "switchyard_usage_records_enqueued_total"); err != nil {
		t.Error(err)
	}
	names := []string{"enqueued_total", "written_total", "spooled_total", "replayed_total", "dropped_total",
		"store_errors_total", "spool_bad_lines_total", "queue_depth"}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, mf := range mfs {
		got[mf.GetName()] = len(mf.GetMetric())
	}
	for _, n := range names {
		name := "switchyard_usage_records_" + n
		if _, ok := got[name]; !ok {
			name = "switchyard_usage_" + n
		}
		if got[name] == 0 {
			t.Errorf("got no %s, want it exported", n)
		}
	}
	if got["switchyard_usage_records_spooled_total"] != 2 {
		t.Errorf("got %d spooled series, want 2 (reason store_unavailable and queue_full)", got["switchyard_usage_records_spooled_total"])
	}
}
