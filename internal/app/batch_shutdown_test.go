package app

import (
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

// TestBatchLinesCutByShutdownRecordedAsShutdown: batch lines in flight
// when the gateway stops are recorded with the error "shutdown", as a
// client request cut by the shutdown is (docs/operations.md, Reload and
// shutdown), not as a client that cancelled (499 client_cancelled).
func TestBatchLinesCutByShutdownRecordedAsShutdown(t *testing.T) {
	simSrv, simURL, stopSim, err := sim.Start(slowSim(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopSim)
	extra := sqliteExtra(t, "")
	s := startTenantStack(t, simURL, extra)
	k := s.newKey("acme", admin.KeyCreate{Name: "batcher"})
	c := s.sdkFor(k.Secret)
	runBatch(t, c, jsonl([2]string{"a", "cheap"}, [2]string{"b", "cheap"}))
	calls := func() int {
		n := 0
		for _, m := range []string{"sim-small", "sim-medium", "sim-large"} {
			n += len(simSrv.Calls(m))
		}
		return n
	}
	waitForT(t, "the lines to reach the model", func() bool { return calls() == 2 }, func() string { return "" })
	s.stop()
	recs := usageRecords(t, storeOf(t, extra))
	if len(recs) != 2 {
		t.Fatalf("got %d usage records, want the 2 lines cut: %+v", len(recs), recs)
	}
	for _, r := range recs {
		if r.ErrorCode != "shutdown" || r.Status == 499 {
			t.Errorf("line %s cut by the shutdown: recorded status %d error %q, want error shutdown", r.RequestID, r.Status, r.ErrorCode)
		}
	}
}
