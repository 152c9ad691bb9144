package router

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// TestLivePlansCheckTheContextWindow: a live plan leaves out a deployment
// whose context window cannot hold the request, as Explain does, so a
// weighted route credits the arm that answers and the reason names the
// skip. A request no deployment can hold keeps its deployments in a live
// plan, for the executor to answer context_length_exceeded.
func TestLivePlansCheckTheContextWindow(t *testing.T) {
	cfg, err := config.Parse([]byte(`
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - {name: tiny, provider: p, model: m1, context_window: 300}
  - {name: small, provider: p, model: m2, context_window: 4096}
routes:
  - name: ab
    policy: weighted
    sticky: none
    arms: [{name: tinyarm, target: tiny, weight: 50}, {name: smallarm, target: small, weight: 50}]
  - {name: chain, targets: [tiny, small]}
  - {name: tinies, targets: [tiny]}
  - {name: acme-tiny, targets: [small], tenants: {acme: tiny}}
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, Options{Rand: func() float64 { return 0 }}) // always the first arm
	if err != nil {
		t.Fatal(err)
	}
	prompt := strings.Repeat("word ", 400) // ~400 tokens
	tests := []struct {
		name, model string
		info        Info
		want        string
		wantArm     string
		wantReason  string
	}{
		{"weighted arm too small", "ab", Info{}, "small", "smallarm", "ab: arm tinyarm cannot serve this request; arm smallarm; skipped tiny: context window"},
		{"fallback", "chain", Info{}, "small", "", "skipped tiny: context window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := chatReq(tt.model, prompt)
			live, err := r.Plan(context.Background(), req, tt.info)
			if err != nil {
				t.Fatal(err)
			}
			explained, err := r.Explain(context.Background(), req, tt.info)
			if err != nil {
				t.Fatal(err)
			}
			for _, dec := range []Decision{live, explained} {
				if got := strings.Join(dec.Deployments, ","); got != tt.want || dec.Arm != tt.wantArm {
					t.Errorf("got %s arm %q, want %s arm %q (reason %q)", got, dec.Arm, tt.want, tt.wantArm, dec.Reason)
				}
				if !strings.Contains(dec.Reason, tt.wantReason) {
					t.Errorf("got reason %q, want it to contain %q", dec.Reason, tt.wantReason)
				}
			}
		})
	}
	for _, tt := range []struct {
		model string
		info  Info
	}{{"tinies", Info{}}, {"acme-tiny", Info{TenantID: "acme"}}, {"tiny", Info{}}} {
		t.Run("no deployment holds it: "+tt.model, func(t *testing.T) {
			req := chatReq(tt.model, prompt)
			live, err := r.Plan(context.Background(), req, tt.info)
			if err != nil || strings.Join(live.Deployments, ",") != "tiny" || (tt.model != "tiny" && !strings.Contains(live.Reason, "skipped tiny: context window")) {
				t.Errorf("live: got %v %v reason %q, want tiny kept for the executor's context_length_exceeded, the skip named", live.Deployments, err, live.Reason)
			}
			dec, err := r.Explain(context.Background(), req, tt.info)
			var nc *NoCapableError
			if !errors.As(err, &nc) || !strings.Contains(err.Error(), "a context window of") || nc.Window < 400 {
				t.Fatalf("explain: got %v, want no capable deployment for the window", err)
			}
			// Explained as serving refuses it (routing.md, "Seeing why").
			if ex := dec.Explain(err); ex.Error == nil || ex.Error.Code != "context_length_exceeded" || !strings.Contains(ex.Error.Message, "context window") {
				t.Errorf("explanation error: got %+v, want context_length_exceeded", ex.Error)
			}
		})
	}
}
