package gateway_test

import (
	"strings"
	"testing"
)

// TestStreamNIgnoredUpstream: a streamed chat asking for n=2 of an
// upstream that ignores n (the simulator, as many OpenAI-compatible
// servers) streams one choice and finishes it; that answer ends with
// [DONE], not an in-band error after the whole answer was sent.
func TestStreamNIgnoredUpstream(t *testing.T) {
	f := newFixture(t)
	if err := f.gw.Apply(f.conf(gwConfig)); err != nil {
		t.Fatal(err)
	}
	resp, b := f.do("POST", oaPath, strings.NewReader(`{"model":"auto","stream":true,"n":2,"messages":[{"role":"user","content":"hi"}]}`))
	body := string(b)
	if resp.StatusCode != 200 || !strings.HasSuffix(strings.TrimSpace(body), "data: [DONE]") || strings.Contains(body, `"error"`) {
		t.Errorf("got %d, want a stream ending with [DONE] and no error:\n%s", resp.StatusCode, body)
	}
}
