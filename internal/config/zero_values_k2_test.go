package config

import "testing"

// TestZeroKeptWhereDocumented: the fields config.md lists as exceptions
// to "0 takes the default" keep a 0 as written (telemetry.sample_ratio: 0
// traces only sampled callers' requests; a 0 price is free), and a field
// not listed (server.max_body_bytes) takes its default.
func TestZeroKeptWhereDocumented(t *testing.T) {
	data := `
server: {max_body_bytes: 0}
executor: {retries_per_deployment: 0}
telemetry: {sample_ratio: 0}
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - name: d
    provider: p
    model: m
    price: {input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0, cache_write_per_mtok: 0, audio_input_per_mtok: 0, audio_output_per_mtok: 0}
routes: [{name: r, policy: fastest, targets: [d], fastest: {explore: 0}}]
`
	c, err := Parse([]byte(data), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.MaxBodyBytes == 0 {
		t.Error("max_body_bytes: 0 did not take the default")
	}
	if c.Executor.RetriesPerDeployment != 0 {
		t.Errorf("retries_per_deployment: got %d, want 0", c.Executor.RetriesPerDeployment)
	}
	if r := c.Telemetry.Ratio(); r != 0 {
		t.Errorf("sample_ratio: got %g, want 0", r)
	}
	if e := c.Routes[0].Fastest.Explore; e == nil || *e != 0 {
		t.Errorf("fastest.explore: got %v, want 0", e)
	}
	p := c.Deployments[0].Price
	if got := p.Cost(1e6, 5e5, 5e5, 0); got != 0 {
		t.Errorf("cached and written tokens at price 0: got cost %g, want 0", got)
	}
	if got := p.AudioExtra(1e6, 1e6); got != -18 {
		t.Errorf("audio at price 0: got extra %g, want -18 (free, against 3 + 15 for text)", got)
	}
}
