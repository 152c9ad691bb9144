package app

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

// TestCircuitSharedAcrossReplicas runs two replicas on one Redis: when
// replica A's traffic opens the circuit of a failing deployment, replica
// B skips that deployment too without trying it first, and so does a
// replica C started afterwards.
func TestCircuitSharedAcrossReplicas(t *testing.T) {
	simSrv, simURL, stopSim, err := sim.Start(simWithFaults("sim-small", sim.Fault{Type: sim.FaultStatus, Status: 503}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopSim)
	limits := redisURL(t)
	dir := t.TempDir()
	extra := fmt.Sprintf("store: sqlite://%s\nlimits: \"%s\"\nreplicas: 2\nusage: {spool_path: %s}\n",
		filepath.Join(dir, "sy.db"), limits, filepath.Join(dir, "u.spool"))
	longOpen := func(c string) string { return strings.Replace(c, "open_for: 1s", "open_for: 60s", 1) }
	a := startEditedTenantStack(t, simURL, extra, longOpen)
	b := startEditedTenantStack(t, simURL, extra, longOpen)

	// Both replicas listen before A opens anything.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	channel := strings.SplitN(limits, "key_prefix=", 2)[1] + "circuit"
	clocktest.WaitFor(t, "both replicas to subscribe", func() bool {
		n, err := rdb.PubSubNumSub(context.Background(), channel).Result()
		return err == nil && n[channel] == 2
	})

	calls := func() int { return len(simSrv.Calls("sim-small")) }
	for i := 0; ; i++ {
		before := calls()
		if code, body, _ := chat(a.hc, a.base, "", tenChatBody); code != 200 {
			t.Fatalf("replica A: got %d %s, want 200 from the fallback", code, body)
		}
		if calls() == before {
			break // A skipped the failing deployment: its circuit is open
		}
		if i == 10 {
			t.Fatal("replica A never opened the circuit of the failing deployment")
		}
	}
	clocktest.WaitFor(t, "replica B to hear of the open circuit", func() bool {
		return strings.Contains(b.logs.String(), "circuit changed on another replica")
	})
	before := calls()
	code, body, h := chat(b.hc, b.base, "", tenChatBody)
	if code != 200 || h.Get("X-Switchyard-Deployment") != "medium" {
		t.Fatalf("replica B: got %d %s from %q, want 200 from medium", code, body, h.Get("X-Switchyard-Deployment"))
	}
	if n := calls() - before; n != 0 {
		t.Errorf("replica B called the deployment whose circuit replica A opened %d times, want 0", n)
	}

	// A replica that starts now reads the open circuit from Redis.
	c := startEditedTenantStack(t, simURL, extra, longOpen)
	clocktest.WaitFor(t, "replica C to read the open circuits", func() bool {
		return strings.Contains(c.logs.String(), "circuit: read the circuits other replicas opened")
	})
	before = calls()
	code, body, h = chat(c.hc, c.base, "", tenChatBody)
	if code != 200 || h.Get("X-Switchyard-Deployment") != "medium" {
		t.Fatalf("replica C: got %d %s from %q, want 200 from medium", code, body, h.Get("X-Switchyard-Deployment"))
	}
	if n := calls() - before; n != 0 {
		t.Errorf("replica C, started after the circuit opened, called the deployment %d times, want 0", n)
	}
}
