package router

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

func TestCascadeChecks(t *testing.T) {
	const cfgYAML = `
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - {name: small, provider: p, model: m, capabilities: {json_mode: true}}
  - {name: large, provider: p, model: m, capabilities: {json_mode: true}}
  - {name: judge, provider: p, model: m}
routes:
  - {name: json, policy: cascade, targets: [small, large], checks: [{json: true}]}
  - {name: schema, policy: cascade, targets: [small, large], checks: [{schema: true}]}
  - {name: regex, policy: cascade, targets: [small, large], checks: [{regex: '^ANSWER: '}]}
  - {name: length, policy: cascade, targets: [small, large], checks: [{min_length: 10}]}
  - {name: refusal, policy: cascade, targets: [small, large], checks: [{no_refusal: true}]}
  - {name: judged, policy: cascade, targets: [small, large], checks: [{judge: {deployment: judge, min_score: 7}}]}
  - {name: judged-default, policy: cascade, targets: [small, large], checks: [{judge: {deployment: judge}}]}
  - {name: judged-zero, policy: cascade, targets: [small, large], checks: [{judge: {deployment: judge, min_score: 0}}]}
`
	cfg, err := config.Parse([]byte(cfgYAML), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	judge := func(_ context.Context, dep string, req *llm.Request) (*llm.Response, error) {
		if dep != "judge" {
			return nil, errors.New("judge called on " + dep)
		}
		if strings.Contains(req.LastUserText, "Answer:\ngood") {
			return &llm.Response{Text: "9"}, nil
		}
		return &llm.Response{Text: "Score: 3/10"}, nil
	}
	r, err := New(cfg, Options{Call: judge})
	if err != nil {
		t.Fatal(err)
	}
	schemaReq := &llm.Request{Model: "schema", JSONMode: true}
	schemaReq.SetBody(&llm.Body{ResponseFormat: []byte(`{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"],"additionalProperties":false}}}`)})
	tests := []struct {
		name     string
		route    string
		req      *llm.Request
		answer   string
		wantPass bool
		wantWhy  string
	}{
		{"json ok", "json", nil, "```json\n{\"a\": 1}\n```", true, "passed json"},
		{"json bad", "json", nil, "{a: 1", false, "not valid JSON"},
		{"schema ok", "schema", schemaReq, `{"n": 3}`, true, "passed schema"},
		{"schema missing field", "schema", schemaReq, `{"m": 3}`, false, "$.n is required"},
		{"schema wrong type", "schema", schemaReq, `{"n": "three"}`, false, "$.n is not of type integer"},
		{"schema extra field", "schema", schemaReq, `{"n": 1, "x": 2}`, false, "$.x is not allowed"},
		{"regex ok", "regex", nil, "ANSWER: 42", true, ""},
		{"regex bad", "regex", nil, "42", false, "does not match the regex"},
		{"length ok", "length", nil, "long enough answer", true, ""},
		{"length short", "length", nil, "  short ", false, "5 characters, want at least 10"},
		{"refusal", "refusal", nil, "I'm sorry, but I can't help with that.", false, "refusal"},
		{"not refusal", "refusal", nil, "Sure: here it is.", true, ""},
		{"judge pass", "judged", nil, "good", true, ""},
		{"judge fail", "judged", nil, "meh", false, "judge score 3 below 7"},
		{"judge default min_score", "judged-default", nil, "meh", false, "judge score 3 below 7"},
		// An explicit 0 passes every score; it was taken as unset, so 7
		// (found by audit S).
		{"judge min_score 0", "judged-zero", nil, "meh", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			if req == nil {
				req = chatReq(tt.route, "question")
			}
			dec, err := r.Plan(context.Background(), req, Info{})
			if err != nil {
				t.Fatal(err)
			}
			if dec.Cascade == nil || strings.Join(dec.Cascade.Stages, ",") != "small,large" {
				t.Fatalf("got cascade %+v, want stages small,large", dec.Cascade)
			}
			pass, why := dec.Cascade.Check(context.Background(), 0, req, &llm.Response{Text: tt.answer})
			if pass != tt.wantPass || !strings.Contains(why, tt.wantWhy) {
				t.Errorf("got %v %q, want %v and a reason containing %q", pass, why, tt.wantPass, tt.wantWhy)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	var calls atomic.Int32
	answer := "Complex."
	call := func(ctx context.Context, dep string, req *llm.Request) (*llm.Response, error) {
		calls.Add(1)
		if dep != "small" {
			t.Errorf("got classifier call to %q, want small", dep)
		}
		if strings.Contains(req.LastUserText, "hang") {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		if strings.Contains(req.LastUserText, "fail") {
			return nil, errors.New("upstream down")
		}
		return &llm.Response{Text: answer}, nil
	}
	r := newTestRouter(t, Options{Call: call})
	tests := []struct {
		name       string
		prompt     string
		want       []string
		wantReason string
		wantCalls  int32
	}{
		{"label picks route", "prove it", []string{"large", "medium"}, "triage: classified complex -> large (classifier small)", 1},
		{"cached", "prove it", []string{"large", "medium"}, "(cached)", 0},
		{"timeout", "hang on", []string{"medium"}, "classifier timed out after 50ms -> default medium", 1},
		{"failure", "fail now", []string{"medium"}, "classifier failed -> default medium", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := calls.Load()
			dec, err := r.Plan(context.Background(), chatReq("triage", tt.prompt), Info{})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(dec.Deployments, ","); got != strings.Join(tt.want, ",") {
				t.Errorf("got deployments %s, want %s", got, strings.Join(tt.want, ","))
			}
			if !strings.Contains(dec.Reason, tt.wantReason) {
				t.Errorf("got reason %q, want it to contain %q", dec.Reason, tt.wantReason)
			}
			if got := calls.Load() - before; got != tt.wantCalls {
				t.Errorf("got %d classifier calls, want %d", got, tt.wantCalls)
			}
		})
	}
}

// learnedRouter is the router of a config with learned routes on the
// shipped router file.
func learnedRouter(t *testing.T, cfgYAML string) *Router {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgYAML), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, Options{})
	if err != nil {
		t.Skipf("learned router file not loadable here: %v", err)
	}
	return r
}

func TestLearnedPolicy(t *testing.T) {
	const cfgYAML = `
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - {name: cheap, provider: p, model: gpt-4o-mini, price: {input_per_mtok: 0.15, output_per_mtok: 0.6}}
  - {name: strong, provider: p, model: gpt-4o, price: {input_per_mtok: 2.5, output_per_mtok: 10}}
routes:
  - {name: smart, policy: learned, targets: [strong, cheap], learned: {router_file: ../../routers/default.json, quality: 0.01, ref_models: {cheap: gpt-3.5-turbo-1106, strong: gpt-4-1106-preview}}}
  - {name: picky, policy: learned, targets: [strong, cheap], learned: {router_file: ../../routers/default.json, quality: 0.999, ref_models: {cheap: gpt-3.5-turbo-1106, strong: gpt-4-1106-preview}}}
`
	r := learnedRouter(t, cfgYAML)
	tests := []struct {
		route, wantFirst, wantReason string
	}{
		{"smart", "cheap", "learned cheapest cheap"},
		{"picky", "", "smart"},
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			dec, err := r.Plan(context.Background(), chatReq(tt.route, "What is the capital of France?"), Info{})
			if err != nil {
				t.Fatal(err)
			}
			if len(dec.Deployments) != 2 {
				t.Fatalf("got %v, want both deployments (the rest as fallbacks); reason %q", dec.Deployments, dec.Reason)
			}
			if tt.wantFirst != "" && dec.Deployments[0] != tt.wantFirst {
				t.Errorf("got %v first, want %s; reason %q", dec.Deployments, tt.wantFirst, dec.Reason)
			}
			if tt.route == "smart" && !strings.Contains(dec.Reason, tt.wantReason) {
				t.Errorf("got reason %q, want it to contain %q", dec.Reason, tt.wantReason)
			}
		})
	}
}

// TestLearnedDeploymentsNamedAsReferenceModels: a router trained on this
// gateway's own export has the deployments as its reference models, so a
// learned route needs no ref_models: a deployment named as a reference
// model stands for it, whatever model it serves.
func TestLearnedDeploymentsNamedAsReferenceModels(t *testing.T) {
	const cfgYAML = `
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - {name: gpt-3.5-turbo-1106, provider: p, model: house-small, price: {input_per_mtok: 0.15, output_per_mtok: 0.6}}
  - {name: gpt-4-1106-preview, provider: p, model: house-large, price: {input_per_mtok: 2.5, output_per_mtok: 10}}
routes:
  - {name: own, policy: learned, targets: [gpt-4-1106-preview, gpt-3.5-turbo-1106], learned: {router_file: ../../routers/default.json, quality: 0.01}}
`
	r := learnedRouter(t, cfgYAML)
	dec, err := r.Plan(context.Background(), chatReq("own", "What is the capital of France?"), Info{})
	if err != nil {
		t.Fatal(err)
	}
	if len(dec.Deployments) != 2 || dec.Deployments[0] != "gpt-3.5-turbo-1106" || strings.Contains(dec.Reason, "no reference model") {
		t.Errorf("got %v (reason %q), want both, the cheaper first", dec.Deployments, dec.Reason)
	}
}

// A learned route may name an embedding deployment only when its router
// file was trained with embedding features.
func TestLearnedEmbeddingNeedsEmbeddingRouter(t *testing.T) {
	const cfgYAML = `
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - {name: cheap, provider: p, model: gpt-4o-mini}
  - {name: strong, provider: p, model: gpt-4o}
  - {name: emb, provider: p, model: text-embedding-3-small, capabilities: {chat: false, tools: false, streaming: false, embeddings: true}}
routes:
  - {name: smart, policy: learned, targets: [strong, cheap], learned: {router_file: ../../routers/default.json, quality: 0.5, embedding_deployment: emb}}
`
	cfg, err := config.Parse([]byte(cfgYAML), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), "trained without embedding features") {
		t.Errorf("got %v, want an error saying the router file has no embedding features", err)
	}
}
