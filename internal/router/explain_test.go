package router

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

func TestExplainCallsNoModel(t *testing.T) {
	r := newTestRouter(t, Options{Call: func(context.Context, string, *llm.Request) (*llm.Response, error) {
		t.Error("explain called a model")
		return nil, context.Canceled
	}})
	tests := []struct {
		name, model, wantJSON string
	}{
		{"classify uses default", "triage", `"deployments":["medium"]`},
		{"cascade lists stages and checks", "casc", `"cascade":{"stages":["small","medium","large"],"checks":["json"]}`},
		{"unknown model", "nope", `"error":{"code":"model_not_found"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec, err := r.Explain(context.Background(), chatReq(tt.model, "secret prompt"), Info{})
			b, _ := json.Marshal(dec.Explain(err))
			if !strings.Contains(string(b), tt.wantJSON) {
				t.Errorf("got %s, want it to contain %s", b, tt.wantJSON)
			}
			if strings.Contains(string(b), "secret") {
				t.Errorf("got %s, want no prompt text", b)
			}
		})
	}
}

func TestDemoRoutes(t *testing.T) {
	cfg := config.Demo("http://127.0.0.1:1")
	if err := cfg.Validate(); err != nil {
		t.Fatalf("demo config: %v", err)
	}
	r, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		model string
		info  Info
		first string
	}{
		{"smart", Info{}, "sim-small"},
		{"smart", Info{Tier: "basic"}, "sim-small"},
		{"cheap", Info{}, "sim-small"},
		{"careful", Info{}, "sim-small"},
		{"ab", Info{KeyID: "k"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			dec, err := r.Plan(context.Background(), chatReq(tt.model, "hello"), tt.info)
			if err != nil {
				t.Fatal(err)
			}
			if tt.first != "" && dec.Deployments[0] != tt.first {
				t.Errorf("got %v, want %s first (reason %q)", dec.Deployments, tt.first, dec.Reason)
			}
		})
	}
}

// TestExplainSkipsTooSmallWindows: explain leaves out a fallback target
// whose context window cannot hold the request, as the executor will, and
// says why; a direct plan of such a deployment is an error.
func TestExplainSkipsTooSmallWindows(t *testing.T) {
	r := newTestRouter(t, Options{})
	long := strings.Repeat("word ", 6000) // about 6,000 tokens: not for small's 4,096
	dec, err := r.Explain(context.Background(), chatReq("chain", long), Info{})
	if err != nil || strings.Join(dec.Deployments, ",") != "large" || !strings.Contains(dec.Reason, "skipped small: context window") {
		t.Errorf("chain: %v %v, reason %q; want only large, small skipped for its context window", dec.Deployments, err, dec.Reason)
	}
	if dec, err := r.Explain(context.Background(), chatReq("chain", "short"), Info{}); err != nil || strings.Join(dec.Deployments, ",") != "small,large" {
		t.Errorf("chain, short prompt: %v %v; want small, large", dec.Deployments, err)
	}
	if dec, err := r.Explain(context.Background(), chatReq("small", long), Info{}); err == nil {
		t.Errorf("small named directly with a long prompt: %v, want an error", dec.Deployments)
	}
}
