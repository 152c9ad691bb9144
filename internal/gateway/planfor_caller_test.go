package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/gateway"
)

// callerGuard makes the bearer key the caller: "tenant-X" is tenant X,
// "tier-X" a key of tier X, anything else an anonymous caller.
type callerGuard struct{}

func (callerGuard) Authenticate(_ context.Context, h http.Header) (*gateway.Principal, error) {
	key := strings.TrimPrefix(h.Get("Authorization"), "Bearer ")
	switch {
	case strings.HasPrefix(key, "tenant-"):
		return &gateway.Principal{TenantID: strings.TrimPrefix(key, "tenant-"), KeyID: key}, nil
	case strings.HasPrefix(key, "tier-"):
		return &gateway.Principal{TenantID: "t", Tier: strings.TrimPrefix(key, "tier-"), KeyID: key}, nil
	}
	return &gateway.Principal{TenantID: "t", KeyID: key}, nil
}

func (callerGuard) Admit(context.Context, *gateway.Principal, string, int, float64) (gateway.Admission, error) {
	return settleNothing{}, nil
}

// TestPlanForHonoursTenantsAndTiers: requests planned without request
// features (embeddings and the other relayed endpoints, count_tokens,
// Responses input_tokens) follow a route's tenants and tiers entries, as
// chat does.
func TestPlanForHonoursTenantsAndTiers(t *testing.T) {
	simURL := startInstantSim(t)
	cfg := `
providers: [{name: sim, kind: openai, base_url: "` + simURL + `/v1"}]
deployments:
  - {name: emb-main, provider: sim, model: sim-embed, capabilities: {chat: false, streaming: false, embeddings: true}}
  - {name: emb-acme, provider: sim, model: sim-embed, capabilities: {chat: false, streaming: false, embeddings: true}}
  - {name: emb-basic, provider: sim, model: sim-embed, capabilities: {chat: false, streaming: false, embeddings: true}}
  - {name: small, provider: sim, model: sim-small}
  - {name: medium, provider: sim, model: sim-medium}
routes:
  - {name: emb, targets: [emb-main], tenants: {acme: emb-acme}, tiers: {basic: emb-basic-route}}
  - {name: emb-basic-route, targets: [emb-basic]}
  - {name: chat, targets: [small], tenants: {acme: medium}}
`
	c, err := config.Parse([]byte(cfg), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	g := gateway.New(gateway.Options{Executor: executor.New(executor.Options{}), Guard: callerGuard{}})
	if err := g.Apply(c); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	post := func(path, key, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tt := range []struct{ key, want, reason string }{
		{"anyone", "emb-main", ""},
		{"tenant-acme", "emb-acme", "emb: tenant acme uses emb-acme"},
		{"tier-basic", "emb-basic", "emb: tier basic uses emb-basic-route"},
		{"tenant-other", "emb-main", ""},
	} {
		resp := post("/v1/embeddings", tt.key, `{"model":"emb","input":"hello"}`)
		if resp.StatusCode != 200 {
			t.Fatalf("embeddings with %s: got %d, want 200", tt.key, resp.StatusCode)
		}
		if got := resp.Header.Get(gateway.HeaderDeployment); got != tt.want {
			t.Errorf("embeddings with %s: got deployment %q, want %q (reason %q)", tt.key, got, tt.want, resp.Header.Get(gateway.HeaderReason))
		}
		if got := resp.Header.Get(gateway.HeaderReason); !strings.Contains(got, tt.reason) {
			t.Errorf("embeddings with %s: got reason %q, want it to contain %q", tt.key, got, tt.reason)
		}
	}
	// The counting endpoints plan the same way.
	for _, tt := range []struct{ path, body string }{
		{"/v1/messages/count_tokens", `{"model":"chat","messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/responses/input_tokens", `{"model":"chat","input":"hi"}`},
	} {
		resp := post(tt.path, "tenant-acme", tt.body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: got %d, want 200", tt.path, resp.StatusCode)
		}
		if got := resp.Header.Get(gateway.HeaderReason); !strings.Contains(got, "chat: tenant acme uses medium") {
			t.Errorf("%s: got reason %q, want chat: tenant acme uses medium", tt.path, got)
		}
	}
}
