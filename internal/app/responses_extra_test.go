package app

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/responses"

	"github.com/switchyard-gw/switchyard/internal/admin"
)

// TestResponsesCompactAndInputTokens: the official Go SDK's compaction
// and input token count through the gateway. A compaction goes to the
// route's OpenAI deployment (never an Anthropic one, which has none) and
// is priced and recorded like a call; its output sent back with a new
// message is a Responses request only OpenAI deployments get. A count is
// the provider's (the same number the response then reports) where the
// route has an OpenAI deployment, the gateway's estimate where it has
// none, and X-Switchyard-Token-Count says which.
func TestResponsesCompactAndInputTokens(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""))
	k := s.newKey("acme", admin.KeyCreate{})
	client := openai.NewClient(option.WithBaseURL(s.base+"/v1"), option.WithAPIKey(k.Secret), option.WithHTTPClient(s.hc), option.WithMaxRetries(0))
	ctx := context.Background()
	input := responses.ResponseInputParam{
		responses.ResponseInputItemParamOfMessage("Which platform for the coast?", responses.EasyInputMessageRoleUser),
		responses.ResponseInputItemParamOfMessage("Platform nine, the 10:15.", responses.EasyInputMessageRoleAssistant),
		responses.ResponseInputItemParamOfMessage("And the return?", responses.EasyInputMessageRoleUser),
	}

	// Counted by the provider: the number the response reports.
	var raw *http.Response
	count, err := client.Responses.InputTokens.Count(ctx, responses.InputTokenCountParams{Model: openai.String("medium"),
		Input: responses.InputTokenCountParamsInputUnion{OfResponseInputItemArray: input}}, option.WithResponseInto(&raw))
	if err != nil || raw.Header.Get("X-Switchyard-Token-Count") != "provider" {
		t.Fatalf("count: %+v %v (%s)", count, err, raw.Header.Get("X-Switchyard-Token-Count"))
	}
	resp, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "medium", Input: responses.ResponseNewParamsInputUnion{OfInputItemList: input}})
	if err != nil || resp.Usage.InputTokens != count.InputTokens {
		t.Errorf("the response read %d input tokens, the count said %d (%v)", resp.Usage.InputTokens, count.InputTokens, err)
	}
	// Without a model: the first OpenAI deployment counts.
	if c, err := client.Responses.InputTokens.Count(ctx, responses.InputTokenCountParams{
		Input: responses.InputTokenCountParamsInputUnion{OfResponseInputItemArray: input}}, option.WithResponseInto(&raw)); err != nil || c.InputTokens != count.InputTokens || raw.Header.Get("X-Switchyard-Token-Count") != "provider" {
		t.Errorf("count without a model: %+v %v", c, err)
	}
	// An Anthropic deployment cannot count a Responses request: estimated.
	if c, err := client.Responses.InputTokens.Count(ctx, responses.InputTokenCountParams{Model: openai.String("claude"),
		Input: responses.InputTokenCountParamsInputUnion{OfResponseInputItemArray: input}}, option.WithResponseInto(&raw)); err != nil || c.InputTokens <= 0 || raw.Header.Get("X-Switchyard-Token-Count") != "estimate" {
		t.Errorf("count for claude: %+v %v (%s)", c, err, raw.Header.Get("X-Switchyard-Token-Count"))
	}

	// Compaction: priced and recorded like a call.
	compacted, err := client.Responses.Compact(ctx, responses.ResponseCompactParams{Model: "medium",
		Input: responses.ResponseCompactParamsInputUnion{OfResponseInputItemArray: input}}, option.WithResponseInto(&raw))
	if err != nil || len(compacted.Output) == 0 || compacted.Output[len(compacted.Output)-1].Type != "compaction" || compacted.Usage.InputTokens == 0 {
		t.Fatalf("compact: %+v %v", compacted, err)
	}
	id := raw.Header.Get("X-Request-Id")
	waitForT(t, "the compaction's usage record", func() bool { _, ok := s.exportUsage()[id]; return ok }, func() string { return "none" })
	if r := s.exportUsage()[id]; r.Route != "medium" || r.CostUSD <= 0 || r.InputTokens != int(compacted.Usage.InputTokens) || r.KeyID != k.ID {
		t.Errorf("compaction record: %+v", r)
	}
	if _, err := client.Responses.Compact(ctx, responses.ResponseCompactParams{Model: "claude",
		Input: responses.ResponseCompactParamsInputUnion{OfString: openai.String("hi")}}); !isStatus(err, 400) {
		t.Errorf("compaction at an Anthropic deployment: %v, want 400", err)
	}

	// A response the gateway translated (for claude) is kept by the
	// gateway, not upstream: its compaction sends the kept conversation
	// as the input, to an OpenAI deployment.
	translated, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "claude", Input: responses.ResponseNewParamsInputUnion{OfInputItemList: input}})
	if err != nil {
		t.Fatal(err)
	}
	fromTranslated, err := client.Responses.Compact(ctx, responses.ResponseCompactParams{Model: "medium",
		PreviousResponseID: openai.String(translated.ID), Input: responses.ResponseCompactParamsInputUnion{OfString: openai.String("And on Sunday?")}})
	if err != nil || len(fromTranslated.Output) == 0 || fromTranslated.Usage.InputTokens <= compacted.Usage.InputTokens {
		t.Errorf("compaction of a translated response: %+v %v, want the kept conversation compacted (more input than the three messages alone)", fromTranslated, err)
	}

	// The compacted conversation, sent back with a new question, is
	// answered by an OpenAI deployment of a route that starts with an
	// Anthropic one.
	var next responses.ResponseInputParam
	for _, it := range compacted.Output {
		// As the client got them (the SDK has no output-to-input helper).
		next = append(next, param.Override[responses.ResponseInputItemUnionParam](json.RawMessage(it.RawJSON())))
	}
	next = append(next, responses.ResponseInputItemParamOfMessage("And on Sunday?", responses.EasyInputMessageRoleUser))
	after, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "anthropic-first", Input: responses.ResponseNewParamsInputUnion{OfInputItemList: next}},
		option.WithResponseInto(&raw))
	if err != nil || after.OutputText() == "" || raw.Header.Get("X-Switchyard-Deployment") != "medium" {
		t.Errorf("after compaction: %+v %v (%s)", after, err, raw.Header.Get("X-Switchyard-Deployment"))
	}
}
