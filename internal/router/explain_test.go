package router

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

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
