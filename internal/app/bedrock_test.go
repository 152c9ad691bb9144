package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"github.com/switchyard-gw/switchyard/internal/sim"
)

// bedrockProviders are two Bedrock providers in front of the simulator,
// one with a Bedrock API key and one signing with AWS access keys, and
// their deployments; bedrock-first falls back from a Bedrock deployment
// to an OpenAI one.
const bedrockProviders = `  - name: sim-bedrock
    kind: bedrock
    region: us-east-1
    base_url: {{SIM}}
    api_key: bedrock-test-key
  - name: sim-bedrock-signed
    kind: bedrock
    region: eu-west-1
    base_url: {{SIM}}
    aws_access_key_id: AKIDEXAMPLE
    aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
    aws_session_token: session-token
deployments:
  - name: bedrock-large
    provider: sim-bedrock
    model: sim-large
    price: {input_per_mtok: 3, output_per_mtok: 15}
    context_window: 200000
    capabilities: {vision: true, json_mode: true}
  - name: bedrock-signed
    provider: sim-bedrock-signed
    model: sim-small
    price: {input_per_mtok: 0.5, output_per_mtok: 1}
  - name: bedrock-think
    provider: sim-bedrock
    model: sim-claude-think
    price: {input_per_mtok: 3, output_per_mtok: 15}
    capabilities: {reasoning: true}
  - name: bedrock-flaky
    provider: sim-bedrock
    model: sim-flaky
    price: {input_per_mtok: 3, output_per_mtok: 15}
  - name: bedrock-cached
    provider: sim-bedrock
    model: sim-large
    price: {input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.3, cache_write_per_mtok: 3.75}
    prompt_cache: system
  - name: bedrock-profile
    provider: sim-bedrock-signed
    model: "us.anthropic.sim-v1:0"
    price: {input_per_mtok: 3, output_per_mtok: 15}
  - name: bedrock-guarded
    provider: sim-bedrock
    model: sim-large
    guardrail: {id: gr-sim, version: "1"}
  - name: bedrock-cut
    provider: sim-bedrock
    model: sim-cut
  - name: bedrock-stream-error
    provider: sim-bedrock
    model: sim-stream-error`

// startBedrockStack is the test stack with the Bedrock deployments, a
// thinking model, and a model that is always throttled.
func startBedrockStack(t *testing.T) *stack {
	simCfg := fastSim()
	simCfg.Models = append(simCfg.Models,
		sim.Model{Name: "sim-claude-think", ContextWindow: 100000, OutputTokens: 12, Reasoning: true, ThinkingTokens: longThinking},
		sim.Model{Name: "sim-flaky", ContextWindow: 100000, OutputTokens: 12, Faults: []sim.Fault{{Type: sim.FaultStatus, Status: 429}}},
		sim.Model{Name: "sim-cut", ContextWindow: 100000, OutputTokens: 12, Faults: []sim.Fault{{Type: sim.FaultCut, After: 3}}},
		sim.Model{Name: "us.anthropic.sim-v1:0", ContextWindow: 100000, OutputTokens: 12},
		sim.Model{Name: "sim-stream-error", ContextWindow: 100000, OutputTokens: 12, Faults: []sim.Fault{{Type: sim.FaultStreamError, After: 3}}})
	cfg := strings.Replace(baseConfig, "deployments:", bedrockProviders, 1) + `  - name: bedrock-first
    targets: [bedrock-flaky, medium]
`
	return startStack(t, simCfg, cfg)
}

// TestBedrockDeployment: OpenAI and Anthropic clients (official Go SDKs)
// are served by Bedrock deployments through the Converse API: complete
// and streamed answers, tools, images, thinking through a tool loop, the
// Responses API, both kinds of credential, usage and cost, and fail-over
// from a throttled Bedrock deployment.
func TestBedrockDeployment(t *testing.T) {
	s := startBedrockStack(t)
	ctx := context.Background()
	oa, an := s.openai(), s.anthropic()
	ask := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Why is the sky blue?")}

	// bedrock-profile's model id holds a colon, escaped in the path (and
	// signed) as AWS wants.
	for _, model := range []string{"bedrock-large", "bedrock-signed", "bedrock-profile"} {
		var hr *http.Response
		resp, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model, Messages: ask}, option.WithResponseInto(&hr))
		if err != nil {
			t.Fatalf("openai client to %s: %v", model, err)
		}
		cost, _ := strconv.ParseFloat(hr.Header.Get("X-Switchyard-Cost"), 64)
		if resp.Choices[0].Message.Content == "" || resp.Choices[0].FinishReason != "stop" || resp.Usage.PromptTokens == 0 ||
			resp.Usage.CompletionTokens == 0 || hr.Header.Get("X-Switchyard-Deployment") != model || cost <= 0 {
			t.Errorf("openai client to %s: %+v, headers %v", model, resp, hr.Header)
		}
	}

	// Two user turns in a row (OpenAI takes them; Converse wants roles to
	// alternate).
	if _, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bedrock-large",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello."), openai.UserMessage("Why is the sky blue?")}}); err != nil {
		t.Errorf("two user turns to bedrock-large: %v", err)
	}
	// A chat app's own greeting first (Converse wants the user first).
	if _, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bedrock-large",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be kind."), openai.AssistantMessage("Hi! How can I help?"), openai.UserMessage("Why is the sky blue?")}}); err != nil {
		t.Errorf("a conversation opened by the assistant to bedrock-large: %v", err)
	}

	// What Converse has no counterpart for is named.
	dropped, _ := s.post("/v1/chat/completions", `{"model":"bedrock-large","user":"u1","seed":7,"service_tier":"priority","parallel_tool_calls":true,"messages":[{"role":"user","content":"hi"}]}`)
	if got := dropped.Header.Get("X-Switchyard-Dropped-Params"); got != "user, seed, parallel_tool_calls" {
		t.Errorf("dropped params %q, want user, seed, parallel_tool_calls (in body order; service_tier is Bedrock's serviceTier)", got)
	}
	dropped, _ = s.post("/v1/chat/completions", `{"model":"bedrock-large","service_tier":"scale","messages":[{"role":"user","content":"hi"}]}`)
	if got := dropped.Header.Get("X-Switchyard-Dropped-Params"); got != "service_tier" {
		t.Errorf("dropped params %q, want service_tier (scale has no Bedrock tier)", got)
	}
	// Service tiers across APIs: an Anthropic client's standard_only is
	// Bedrock's default; an OpenAI client's default is Anthropic's
	// standard_only, its flex has no Anthropic tier.
	for _, tc := range []struct{ path, body, dropped string }{
		{"/v1/messages", `{"model":"bedrock-large","max_tokens":20,"service_tier":"standard_only","messages":[{"role":"user","content":"hi"}]}`, ""},
		{"/v1/messages", `{"model":"bedrock-large","max_tokens":20,"service_tier":"auto","messages":[{"role":"user","content":"hi"}]}`, "service_tier"},
		{"/v1/chat/completions", `{"model":"claude","service_tier":"default","messages":[{"role":"user","content":"hi"}]}`, ""},
		{"/v1/chat/completions", `{"model":"claude","service_tier":"flex","messages":[{"role":"user","content":"hi"}]}`, "service_tier"},
	} {
		resp, b := s.post(tc.path, tc.body, "anthropic-version", "2023-06-01")
		if got := resp.Header.Get("X-Switchyard-Dropped-Params"); resp.StatusCode != 200 || got != tc.dropped {
			t.Errorf("%s: got %d, dropped %q, want 200 and %q; %s", tc.body, resp.StatusCode, got, tc.dropped, b)
		}
	}

	// Streamed, with usage.
	stream := oa.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "bedrock-large", Messages: ask,
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("streamed from bedrock-large: %v", err)
	}
	stream.Close()
	if acc.Choices[0].Message.Content == "" || acc.Choices[0].FinishReason != "stop" || acc.Usage.CompletionTokens == 0 {
		t.Errorf("streamed from bedrock-large: %+v usage %+v", acc.Choices[0], acc.Usage)
	}

	// Tools, a round trip, and an image by data URL.
	weather := []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(weatherTool)}
	first, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bedrock-large", Tools: weather,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")}})
	if err != nil || len(first.Choices[0].Message.ToolCalls) != 1 || first.Choices[0].FinishReason != "tool_calls" ||
		!json.Valid([]byte(first.Choices[0].Message.ToolCalls[0].Function.Arguments)) {
		t.Fatalf("tool call from bedrock-large: %v %+v", err, first)
	}
	call := first.Choices[0].Message.ToolCalls[0]
	second, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bedrock-large", Tools: weather,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?"),
			first.Choices[0].Message.ToParam(), openai.ToolMessage(`{"temp_c": 21}`, call.ID)}})
	if err != nil || second.Choices[0].Message.Content == "" {
		t.Errorf("answering bedrock-large's tool call: %v %+v", err, second)
	}
	img := openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
		openai.TextContentPart("What is in this picture?"),
		openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64,iVBORw0KGgo="}),
	})
	if _, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bedrock-large", Messages: []openai.ChatCompletionMessageParamUnion{img}}); err != nil {
		t.Errorf("image to bedrock-large: %v", err)
	}
	// An image by URL has no Converse counterpart: a 400 naming it.
	byURL := openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
		openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "https://example.com/cat.png"}),
	})
	var apiErr *openai.Error
	if _, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bedrock-large", Messages: []openai.ChatCompletionMessageParamUnion{byURL}}); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Errorf("image by URL to bedrock-large: %v, want a 400", err)
	}

	// Structured output.
	js, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bedrock-large", Messages: ask,
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "answer", Schema: map[string]any{"type": "object", "properties": map[string]any{"why": map[string]any{"type": "string"}}}}}}})
	if err != nil || !json.Valid([]byte(js.Choices[0].Message.Content)) {
		t.Errorf("json_schema to bedrock-large: %v %+v, want JSON", err, js)
	}

	// Thinking through a tool loop, the blocks sent back signed.
	think, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bedrock-think", ReasoningEffort: shared.ReasoningEffortLow, Tools: weather,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")}})
	if err != nil || len(think.Choices[0].Message.ToolCalls) != 1 || !strings.HasPrefix(think.Choices[0].Message.JSON.ExtraFields["reasoning_content"].Raw(), `"Let me think`) {
		t.Fatalf("thinking tool call from bedrock-think: %v %+v", err, think)
	}
	asst := think.Choices[0].Message.ToAssistantMessageParam()
	asst.SetExtraFields(map[string]any{"thinking_blocks": json.RawMessage(think.Choices[0].Message.JSON.ExtraFields["thinking_blocks"].Raw())})
	after, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bedrock-think", ReasoningEffort: shared.ReasoningEffortLow, Tools: weather,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?"), {OfAssistant: &asst},
			openai.ToolMessage(`{"temp_c": 21}`, think.Choices[0].Message.ToolCalls[0].ID)}})
	if err != nil || after.Usage.CompletionTokens <= longThinking {
		t.Errorf("answering bedrock-think's call with its thinking: %v %+v; want thinking billed", err, after)
	}

	// An Anthropic client's tool loop with thinking: the thinking block
	// sent back (as Claude clients do) keeps Bedrock's Claude thinking.
	antTools := []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "get_weather",
		InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}}}}}
	antAsk := anthropic.NewUserMessage(anthropic.NewTextBlock("What is the weather in Paris?"))
	callMsg, err := an.Messages.New(ctx, anthropic.MessageNewParams{Model: "bedrock-think", MaxTokens: 4096, Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		Tools: antTools, Messages: []anthropic.MessageParam{antAsk}})
	if err != nil || len(callMsg.Content) != 2 || callMsg.Content[0].Type != "thinking" || callMsg.Content[1].Type != "tool_use" {
		t.Fatalf("anthropic client, thinking tool call from bedrock-think: %v %+v", err, callMsg)
	}
	loopMsg, err := an.Messages.New(ctx, anthropic.MessageNewParams{Model: "bedrock-think", MaxTokens: 4096, Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		Tools: antTools, Messages: []anthropic.MessageParam{antAsk, callMsg.ToParam(),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock(callMsg.Content[1].ID, `{"temp_c": 21}`, false))}})
	if err != nil || loopMsg.Usage.OutputTokens <= longThinking {
		t.Errorf("anthropic client answering bedrock-think's call with its thinking: %v %+v; want thinking billed", err, loopMsg)
	}

	// Anthropic client, complete and streamed.
	params := anthropic.MessageNewParams{Model: "bedrock-large", MaxTokens: 256,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Why?"))}}
	msg, err := an.Messages.New(ctx, params)
	if err != nil || len(msg.Content) != 1 || msg.Content[0].Text == "" || msg.StopReason != "end_turn" || msg.Usage.OutputTokens == 0 {
		t.Fatalf("anthropic client to bedrock-large: %v %+v", err, msg)
	}
	as := an.Messages.NewStreaming(ctx, params)
	var am anthropic.Message
	for as.Next() {
		if err := am.Accumulate(as.Current()); err != nil {
			t.Fatalf("accumulate: %v", err)
		}
	}
	if err := as.Err(); err != nil || len(am.Content) != 1 || am.Content[0].Text != msg.Content[0].Text {
		t.Errorf("anthropic client streamed from bedrock-large: %v %+v, want %q", err, am.Content, msg.Content[0].Text)
	}

	// count_tokens is counted by Bedrock's CountTokens API, not a generation.
	before := len(s.sim.Calls("sim-large"))
	var ch *http.Response
	count, err := an.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "bedrock-large",
		System:   anthropic.MessageCountTokensParamsSystemUnion{OfString: anthropic.String("Be brief.")},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Count the tokens of this sentence, please."))},
	}, aoption.WithResponseInto(&ch))
	if err != nil || count.InputTokens < 5 || ch.Header.Get("X-Switchyard-Token-Count") != "provider" || len(s.sim.Calls("sim-large")) != before {
		t.Errorf("count_tokens on bedrock-large: %v, %+v from %q", err, count, ch.Header.Get("X-Switchyard-Token-Count"))
	}

	// The Responses API, translated.
	r, err := oa.Responses.New(ctx, responses.ResponseNewParams{Model: "bedrock-large", Input: responsesInput("Say hello")})
	if err != nil || r.Status != "completed" || r.OutputText() == "" {
		t.Errorf("responses to bedrock-large: %v %+v", err, r)
	}

	// A throttled Bedrock deployment fails over.
	var hr *http.Response
	if _, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bedrock-first", Messages: ask}, option.WithResponseInto(&hr)); err != nil || hr.Header.Get("X-Switchyard-Deployment") != "medium" {
		t.Errorf("bedrock-first: %v, served by %q, want medium after bedrock-flaky's 429", err, hr.Header.Get("X-Switchyard-Deployment"))
	}
	if n := len(s.sim.Calls("sim-flaky")); n == 0 {
		t.Errorf("bedrock-flaky was never tried")
	}
}

// TestBedrockStreamsNeverEndAsSuccess: a Bedrock stream cut mid-way, or
// ended by an exception event, reaches OpenAI and Anthropic clients as an
// error their SDKs raise, never as a complete answer.
func TestBedrockStreamsNeverEndAsSuccess(t *testing.T) {
	s := startBedrockStack(t)
	ctx := context.Background()
	oa, an := s.openai(), s.anthropic()
	for _, model := range []string{"bedrock-cut", "bedrock-stream-error"} {
		stream := oa.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me a story")}})
		var text strings.Builder
		for stream.Next() {
			if c := stream.Current(); len(c.Choices) > 0 {
				text.WriteString(c.Choices[0].Delta.Content)
			}
		}
		if stream.Err() == nil || text.Len() == 0 {
			t.Errorf("openai client, %s: %d bytes then err %v; want the first tokens, then an error", model, text.Len(), stream.Err())
		}
		stream.Close()

		as := an.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: model, MaxTokens: 256,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Tell me a story"))}})
		for as.Next() {
		}
		if as.Err() == nil {
			t.Errorf("anthropic client, %s: the stream ended without an error", model)
		}
		as.Close()
	}
}

// TestBedrockPromptCache: with prompt_cache: system, a Bedrock deployment
// gets a cache point after the system prompt, so a long one is written to
// the cache on the first call and read on the next (cached_tokens);
// without it nothing is cached.
func TestBedrockPromptCache(t *testing.T) {
	s := startBedrockStack(t)
	c := s.openai()
	ask := askWithLongSystem(t, c)
	first, second := ask("bedrock-cached", "What is a block?"), ask("bedrock-cached", "And an interlocking?")
	if first.PromptTokensDetails.CachedTokens != 0 || second.PromptTokensDetails.CachedTokens < 1024 || second.PromptTokens < second.PromptTokensDetails.CachedTokens {
		t.Errorf("prompt_cache: system: cached %d then %d of %d and %d prompt tokens, want 0 then the system prompt",
			first.PromptTokensDetails.CachedTokens, second.PromptTokensDetails.CachedTokens, first.PromptTokens, second.PromptTokens)
	}
	ask("bedrock-large", "What is a block?")
	if u := ask("bedrock-large", "And an interlocking?"); u.PromptTokensDetails.CachedTokens != 0 {
		t.Errorf("without prompt_cache: %d cached tokens, want none", u.PromptTokensDetails.CachedTokens)
	}

	// An Anthropic client's own cache_control marks (a coding agent's
	// system prompt) become cache points on a deployment without
	// prompt_cache.
	an := s.anthropic()
	antAsk := func(q string) anthropic.Usage {
		t.Helper()
		msg, err := an.Messages.New(context.Background(), anthropic.MessageNewParams{Model: "bedrock-large", MaxTokens: 64,
			System: []anthropic.TextBlockParam{{Text: strings.Repeat("You are a careful coding agent for a railway company. ", 100),
				CacheControl: anthropic.NewCacheControlEphemeralParam()}},
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(q))}})
		if err != nil {
			t.Fatal(err)
		}
		return msg.Usage
	}
	w, r := antAsk("Fix the signal."), antAsk("Now the points.")
	if w.CacheCreationInputTokens < 1024 || r.CacheReadInputTokens < 1024 || r.CacheReadInputTokens != w.CacheCreationInputTokens {
		t.Errorf("anthropic client's cache_control on bedrock-large: written %d, then read %d; want the system prompt written, then read",
			w.CacheCreationInputTokens, r.CacheReadInputTokens)
	}

	// A mark on the last tool caches the tool definitions (they come
	// first), on Bedrock as a cache point after them, and relayed to an
	// Anthropic deployment as it is.
	// (Both deployments serve the simulator's sim-large, which caches by
	// model: each gets tools of its own.)
	for _, model := range []string{"bedrock-large", "claude"} {
		tools := make([]anthropic.ToolUnionParam, 12)
		for i := range tools {
			tool := anthropic.ToolParam{Name: "tool_" + strconv.Itoa(i), Description: anthropic.String(strings.Repeat("Moves a train between two stations of the "+model+" network. ", 12)),
				InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"train": map[string]any{"type": "string"}}}}
			if i == len(tools)-1 {
				tool.CacheControl = anthropic.NewCacheControlEphemeralParam()
			}
			tools[i] = anthropic.ToolUnionParam{OfTool: &tool}
		}
		toolAsk := func(q string) anthropic.Usage {
			t.Helper()
			msg, err := an.Messages.New(context.Background(), anthropic.MessageNewParams{Model: model, MaxTokens: 64, Tools: tools,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(q))}})
			if err != nil {
				t.Fatal(err)
			}
			return msg.Usage
		}
		w, r := toolAsk("Which train?"), toolAsk("And the next one?")
		if w.CacheCreationInputTokens < 1024 || r.CacheReadInputTokens != w.CacheCreationInputTokens || r.InputTokens == 0 {
			t.Errorf("cache_control on the last tool to %s: written %d, then read %d (and %d not cached); want the tools written, then read",
				model, w.CacheCreationInputTokens, r.CacheReadInputTokens, r.InputTokens)
		}
	}
}

// TestBedrockGuardrail: a Bedrock deployment's guardrail is applied to
// every request; when it intervenes (the simulator's guardrails block the
// word "forbidden") the answer is its message, finished as
// content_filter for OpenAI clients (complete and streamed) and refusal
// for Anthropic clients. Without the guardrail the same prompt is
// answered.
func TestBedrockGuardrail(t *testing.T) {
	s := startBedrockStack(t)
	ctx := context.Background()
	oa, an := s.openai(), s.anthropic()
	blocked := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me something forbidden.")}
	resp, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bedrock-guarded", Messages: blocked})
	if err != nil || resp.Choices[0].FinishReason != "content_filter" || resp.Choices[0].Message.Content != "Sorry, the model cannot answer this question." {
		t.Errorf("guarded, blocked: %v %+v", err, resp)
	}
	stream := oa.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "bedrock-guarded", Messages: blocked})
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil || acc.Choices[0].FinishReason != "content_filter" {
		t.Errorf("guarded, blocked, streamed: %v %+v", err, acc.Choices)
	}
	stream.Close()
	msg, err := an.Messages.New(ctx, anthropic.MessageNewParams{Model: "bedrock-guarded", MaxTokens: 256,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Tell me something forbidden."))}})
	if err != nil || msg.StopReason != "refusal" {
		t.Errorf("guarded, blocked, anthropic client: %v %+v", err, msg)
	}
	for _, tt := range []struct {
		model string
		ask   []openai.ChatCompletionMessageParamUnion
	}{
		{"bedrock-guarded", []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me something nice.")}},
		{"bedrock-large", blocked},
	} {
		resp, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: tt.model, Messages: tt.ask})
		if err != nil || resp.Choices[0].FinishReason != "stop" {
			t.Errorf("%s: %v %+v, want an answer", tt.model, err, resp)
		}
	}
}
