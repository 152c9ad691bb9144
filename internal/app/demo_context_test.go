package app

import (
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

// TestDemoWindowsMatchTheSimulator: each demo deployment's context window
// is the simulated model's own, so a request the gateway lets through is
// not refused upstream as too long (nor one the model would take refused).
func TestDemoWindowsMatchTheSimulator(t *testing.T) {
	windows := map[string]int{}
	for _, m := range sim.DefaultConfig().Models {
		windows[m.Name] = m.ContextWindow
	}
	for _, d := range config.Demo("http://127.0.0.1:1").Deployments {
		w, ok := windows[d.Model]
		if !ok {
			continue // a model the simulator makes up per request (Bedrock ids)
		}
		if w != 0 && d.ContextWindow != w {
			t.Errorf("deployment %s (%s): context window %d, the simulator's %d", d.Name, d.Model, d.ContextWindow, w)
		}
	}
}
