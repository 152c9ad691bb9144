package sim

import "testing"

func TestCallsAreBounded(t *testing.T) {
	s := New(DefaultConfig())
	var last call
	for i := 0; i < maxCalls+10; i++ {
		last = s.begin("sim-small", "/v1/chat/completions", false)
	}
	last.update(func(c *Call) { c.Status = 201 })
	calls := s.Calls("sim-small")
	if len(calls) > maxCalls {
		t.Fatalf("recorded calls: got %d, want at most %d", len(calls), maxCalls)
	}
	if got := calls[len(calls)-1].Status; got != 201 {
		t.Errorf("update of the newest call after trimming: got status %d, want 201", got)
	}
	if got := calls[0].Status; got != 0 {
		t.Errorf("oldest kept call: got status %d, want 0", got)
	}
}
