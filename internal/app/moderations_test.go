package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

// moderationDeployments are two moderation deployments, the first always
// failing, and a route that falls back from it.
const moderationDeployments = `  - name: moderate-down
    provider: sim-openai
    model: sim-moderation-down
    capabilities: {chat: false, moderation: true}
  - name: moderate
    provider: sim-openai
    model: sim-moderation
    capabilities: {chat: false, moderation: true}
routes:
  - name: moderation
    targets: [moderate-down, moderate]
`

// TestModerations: the OpenAI SDK's moderations are relayed to a
// deployment that moderates, its answer verbatim; without a model the
// first such deployment serves it; a failing one fails over; a
// deployment that does not moderate is a 400.
func TestModerations(t *testing.T) {
	simCfg := fastSim()
	simCfg.Models = append(simCfg.Models, sim.Model{Name: "sim-moderation-down", ContextWindow: 8192, Faults: []sim.Fault{{Type: sim.FaultStatus, Status: 503}}})
	cfg := strings.Replace(baseConfig, "routes:\n", moderationDeployments, 1)
	s := startStack(t, simCfg, cfg)
	ctx := context.Background()
	oa := s.openai()

	var hr *http.Response
	got, err := oa.Moderations.New(ctx, openai.ModerationNewParams{
		Model: "moderate",
		Input: openai.ModerationNewParamsInputUnion{OfStringArray: []string{"a kind word", "something forbidden"}},
	}, option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Results) != 2 || got.Results[0].Flagged || !got.Results[1].Flagged || !got.Results[1].Categories.Violence || got.Model != "sim-moderation" {
		t.Errorf("moderations: %+v", got)
	}
	if hr.Header.Get("X-Switchyard-Deployment") != "moderate" || hr.Header.Get("X-Switchyard-Cost") != "0" {
		t.Errorf("headers %v", hr.Header)
	}

	// No model: the first deployment that moderates, which fails, then
	// nothing else (a deployment named alone has no fall-back) ...
	resp, body := s.post("/v1/moderations", `{"input":"hello"}`)
	if resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusBadGateway {
		t.Errorf("no model: %d %s, want moderate-down's failure", resp.StatusCode, body)
	}
	if d := resp.Header.Get("X-Switchyard-Route"); d != "moderate-down" {
		t.Errorf("no model: served by %q, want the first deployment that moderates", d)
	}
	// ... and a route falls back from it.
	got, err = oa.Moderations.New(ctx, openai.ModerationNewParams{Model: "moderation",
		Input: openai.ModerationNewParamsInputUnion{OfString: openai.String("hello")}}, option.WithResponseInto(&hr))
	if err != nil || len(got.Results) != 1 || hr.Header.Get("X-Switchyard-Deployment") != "moderate" || hr.Header.Get("X-Switchyard-Attempts") == "1" {
		t.Errorf("fail-over: %v, %+v, headers %v", err, got, hr.Header)
	}

	// A deployment that does not moderate, and a bad input.
	for _, tc := range []struct{ body, says string }{
		{`{"model":"medium","input":"hi"}`, "moderat"},
		{`{"model":"moderate","input":""}`, "input"},
		{`{"model":"moderate","input":[{"type":"audio"}]}`, "input"},
	} {
		resp, body := s.post("/v1/moderations", tc.body)
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error.Message, tc.says) {
			t.Errorf("%s: %d %s, want a 400 about %s", tc.body, resp.StatusCode, body, tc.says)
		}
	}
	_, err = oa.Moderations.New(ctx, openai.ModerationNewParams{Model: "no-such", Input: openai.ModerationNewParamsInputUnion{OfString: openai.String("x")}})
	var ae *openai.Error
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound {
		t.Errorf("unknown model: %v, want a 404", err)
	}
}

// TestBatchModerations: a batch of moderations (an endpoint OpenAI's
// Batch API takes) runs each line through the moderations path; so does
// a batch of image generations.
func TestBatchModerations(t *testing.T) {
	simURL := startSim(t, fastSim())
	s := startEditedTenantStack(t, simURL, sqliteExtra(t, ""), func(c string) string {
		return strings.Replace(c, "routes:\n", `  - {name: moderate, provider: sim-openai, model: sim-moderation, capabilities: {chat: false, moderation: true}}
  - {name: image, provider: sim-openai, model: sim-image, capabilities: {chat: false, images: true}}
routes:
`, 1)
	})
	c := s.sdkFor(s.newKey("acme", admin.KeyCreate{Name: "batcher"}).Secret)
	ctx := context.Background()
	input := `{"custom_id":"ok","method":"POST","url":"/v1/moderations","body":{"model":"moderate","input":"a kind word"}}
{"custom_id":"bad","method":"POST","url":"/v1/moderations","body":{"input":"something forbidden"}}
`
	f, err := c.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(input), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1Moderations, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	b = awaitBatch(t, c, b.ID)
	if b.Status != "completed" || b.RequestCounts.Completed != 2 {
		t.Fatalf("batch: %s, counts %+v", b.Status, b.RequestCounts)
	}
	out := fileLines(t, c, b.OutputFileID)
	flagged := map[string]bool{}
	for _, l := range out {
		var m openai.ModerationNewResponse
		if l.Response == nil || l.Response.StatusCode != 200 || json.Unmarshal(l.Response.Body, &m) != nil || len(m.Results) != 1 {
			t.Fatalf("line %s: %+v", l.CustomID, l.Response)
		}
		flagged[l.CustomID] = m.Results[0].Flagged
	}
	if len(flagged) != 2 || flagged["ok"] || !flagged["bad"] {
		t.Errorf("flagged %v, want only the forbidden line", flagged)
	}

	// A batch of image generations.
	input = `{"custom_id":"img","method":"POST","url":"/v1/images/generations","body":{"model":"image","prompt":"a train","n":2}}
`
	f, err = c.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(input), "img.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	b, err = c.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ImagesGenerations, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	b = awaitBatch(t, c, b.ID)
	out = fileLines(t, c, b.OutputFileID)
	var img openai.ImagesResponse
	if b.Status != "completed" || len(out) != 1 || out[0].Response == nil || json.Unmarshal(out[0].Response.Body, &img) != nil || len(img.Data) != 2 {
		t.Errorf("image batch: %s, %+v", b.Status, out)
	}
}
