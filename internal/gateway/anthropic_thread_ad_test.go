package gateway_test

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/gateway"
)

// TestAnthropicThreadGoesToAnthropicOnly: a Messages request naming a
// thread (a conversation Anthropic keeps, which the Anthropic SDKs' tool
// runner creates and then sends only each turn's new messages to) is
// served by the route's Anthropic deployments only (and never from the
// response cache: TestCacheSkipsAnthropicThread), and is a 400 naming
// thread on a route of none; a
// translation would drop the thread and answer the turn without its
// history, as a success (found by audit AD).
func TestAnthropicThreadGoesToAnthropicOnly(t *testing.T) {
	f := newFixture(t)
	if err := f.gw.Apply(f.conf(gwConfig + `
  - {name: openai-first, targets: [medium, claude]}
  - {name: openai-only, targets: [medium]}
`)); err != nil {
		t.Fatal(err)
	}
	body := func(route string) string {
		return `{"model":"` + route + `","max_tokens":20,"thread":{"type":"create"},"messages":[{"role":"user","content":"hello"}]}`
	}
	resp, b := f.post(anPath, body("openai-first"))
	if resp.StatusCode != 200 || resp.Header.Get(gateway.HeaderDeployment) != "claude" {
		t.Errorf("got %d from %q %s, want 200 from claude", resp.StatusCode, resp.Header.Get(gateway.HeaderDeployment), b)
	}
	resp, b = f.post(anPath, body("openai-only"))
	if resp.StatusCode != 400 || !strings.Contains(gjson.GetBytes(b, "error.message").Str, "thread") {
		t.Errorf("route without an Anthropic deployment: got %d %s, want 400 naming thread", resp.StatusCode, b)
	}
}
