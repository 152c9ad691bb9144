package config

import (
	"strings"
	"testing"
)

// TestFractionalIntsThroughAliases: a fraction reaching an integer through
// an alias or a merge key is refused where it lands, by path and the line
// it was written on; a number without a fraction, in any notation, is
// taken as its integer.
func TestFractionalIntsThroughAliases(t *testing.T) {
	const bad = `providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - &d {name: d, provider: p, model: m, context_window: 100.5}
  - <<: *d
    name: e
executor:
  breaker: {failure_threshold: &n 2.5}
routes:
  - {name: r, policy: cascade, targets: [d, e], checks: [{min_length: *n}]}
`
	_, err := Parse([]byte(bad), func(string) string { return "" })
	if err == nil {
		t.Fatal("got no error, want the fractions refused")
	}
	for _, want := range []string{
		"deployments[0].context_window: line 3: want a whole number, got 100.5",
		"deployments[1].context_window: line 3: want a whole number, got 100.5",
		"executor.breaker.failure_threshold: line 7: want a whole number, got 2.5",
		"routes[0].checks[0].min_length: line 7: want a whole number, got 2.5",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want it to contain %q", err, want)
		}
	}

	c, err := Parse([]byte(`executor: {max_attempts: 3.0, breaker: {failure_threshold: 0x10}}
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments: [{name: d, provider: p, model: m, context_window: 1e4, max_output_tokens: 2_048}]
`), func(string) string { return "" })
	if err != nil {
		t.Fatalf("got %v, want whole numbers taken", err)
	}
	d := c.Deployments[0]
	if c.Executor.MaxAttempts != 3 || c.Executor.Breaker.FailureThreshold != 16 || d.ContextWindow != 10000 || d.MaxOutputTokens != 2048 {
		t.Errorf("got max_attempts %d, failure_threshold %d, context_window %d, max_output_tokens %d; want 3, 16, 10000, 2048",
			c.Executor.MaxAttempts, c.Executor.Breaker.FailureThreshold, d.ContextWindow, d.MaxOutputTokens)
	}
}
