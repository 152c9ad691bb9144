package app

import (
	"strings"
	"testing"
)

// TestServeStartsWithRedisUnreachable: a Redis that cannot be reached at
// start-up (limits and cache.backend) does not stop serve, as
// operations.md says: it is ready, serves requests and does not log
// "start-up failed".
func TestServeStartsWithRedisUnreachable(t *testing.T) {
	gwCfg := strings.Replace(baseConfig, "executor:\n", "limits: redis://127.0.0.1:1/0\ncache: {backend: \"redis://127.0.0.1:1/0\"}\nexecutor:\n", 1)
	s := startStack(t, fastSim(), gwCfg)
	resp, err := s.hc.Get(s.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/readyz: got %d, want 200", resp.StatusCode)
	}
	if resp, b := s.post("/v1/chat/completions", `{"model":"small","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 {
		t.Errorf("request with Redis unreachable: got %d %s, want 200", resp.StatusCode, b)
	}
	if strings.Contains(s.logs.String(), "start-up failed") {
		t.Errorf("start-up failed logged:\n%s", s.logs.String())
	}
}
