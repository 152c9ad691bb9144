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
