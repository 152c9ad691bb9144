package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"github.com/switchyard-gw/switchyard/internal/sim"
)

// thinkingDeployments adds a Claude that thinks at length (longer than
// the events the executor buffers before a stream commits) and an
// OpenAI-compatible reasoning model that shows its reasoning, as DeepSeek
// does.
const thinkingDeployments = `  - name: claude-think
    provider: sim-anthropic
    model: sim-claude-think
    price: {input_per_mtok: 3, output_per_mtok: 15}
    capabilities: {reasoning: true}
  - name: deepseek
    provider: sim-openai
    model: sim-deepseek
    price: {input_per_mtok: 0.5, output_per_mtok: 2}
    capabilities: {reasoning: true}
routes:`

// longThinking is the thinking block's length in tokens, each its own
// thinking_delta: more than the executor's 256 events before commit.
const longThinking = 300

// startThinkingStack is the test stack with the thinking deployments.
func startThinkingStack(t *testing.T) *stack {
	simCfg := fastSim()
	simCfg.Models = append(simCfg.Models,
		sim.Model{Name: "sim-claude-think", ContextWindow: 100000, OutputTokens: 12, Reasoning: true, ThinkingTokens: longThinking},
		sim.Model{Name: "sim-deepseek", ContextWindow: 100000, OutputTokens: 12, Reasoning: true, ShowReasoning: true})
	return startStack(t, simCfg, strings.Replace(baseConfig, "routes:", thinkingDeployments, 1))
}

// thinkingBlock is the wire shape of an OpenAI client's thinking_blocks.
type thinkingBlock struct {
	Type      string `json:"type"`
	Thinking  string `json:"thinking"`
	Signature string `json:"signature"`
}

// TestThinkingReachesClients: a reasoning deployment's thinking reaches
// clients of the other API (OpenAI clients get reasoning_content and the
// signed thinking_blocks, in an answer and in a stream; Anthropic clients
// get thinking blocks), a long thinking stream commits instead of
// failing, and the blocks sent back with a tool call's answer keep
// Claude thinking through the tool loop, as Anthropic wants, signature
// intact.
func TestThinkingReachesClients(t *testing.T) {
	s := startThinkingStack(t)
	ctx := context.Background()
	oa, an := s.openai(), s.anthropic()
	ask := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Why is the sky blue?")}

	// OpenAI client, complete answer.
	resp, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude-think", ReasoningEffort: shared.ReasoningEffortLow, Messages: ask})
	if err != nil {
		t.Fatalf("openai client to claude-think: %v", err)
	}
	msg := resp.Choices[0].Message
	var reasoning string
	var blocks []thinkingBlock
	if err := json.Unmarshal([]byte(msg.JSON.ExtraFields["reasoning_content"].Raw()), &reasoning); err != nil {
		t.Fatalf("reasoning_content %q: %v", msg.JSON.ExtraFields["reasoning_content"].Raw(), err)
	}
	if err := json.Unmarshal([]byte(msg.JSON.ExtraFields["thinking_blocks"].Raw()), &blocks); err != nil {
		t.Fatalf("thinking_blocks %q: %v", msg.JSON.ExtraFields["thinking_blocks"].Raw(), err)
	}
	if !strings.HasPrefix(reasoning, "Let me think") || len(strings.Fields(reasoning)) != longThinking ||
		len(blocks) != 1 || blocks[0].Type != "thinking" || blocks[0].Thinking != reasoning || blocks[0].Signature == "" {
		t.Fatalf("thinking shown to an OpenAI client: reasoning_content %q, blocks %+v", reasoning, blocks)
	}
	if strings.Contains(msg.Content, "think") || resp.Usage.CompletionTokens != 12+longThinking {
		t.Errorf("content %q usage %+v, want the answer alone and the thinking billed", msg.Content, resp.Usage)
	}

	// OpenAI client, streamed: the thinking comes as it is made, and the
	// block whole, signed, once at its end.
	stream := oa.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "claude-think", ReasoningEffort: shared.ReasoningEffortLow, Messages: ask})
	var streamed strings.Builder
	var streamedBlocks []thinkingBlock
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		c := stream.Current()
		acc.AddChunk(c)
		if len(c.Choices) == 0 {
			continue
		}
		d := c.Choices[0].Delta.JSON.ExtraFields
		if raw := d["reasoning_content"].Raw(); raw != "" {
			var piece string
			if err := json.Unmarshal([]byte(raw), &piece); err != nil {
				t.Fatalf("reasoning_content delta %q: %v", raw, err)
			}
			streamed.WriteString(piece)
		}
		if raw := d["thinking_blocks"].Raw(); raw != "" {
			var bs []thinkingBlock
			if err := json.Unmarshal([]byte(raw), &bs); err != nil {
				t.Fatalf("thinking_blocks delta %q: %v", raw, err)
			}
			streamedBlocks = append(streamedBlocks, bs...)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("streamed from claude-think (%d thinking deltas): %v", longThinking, err)
	}
	stream.Close()
	if streamed.String() != reasoning || len(streamedBlocks) != 1 || streamedBlocks[0] != blocks[0] {
		t.Errorf("streamed thinking %q, blocks %+v; want %q and the answer's block", streamed.String(), streamedBlocks, reasoning)
	}
	if acc.Choices[0].Message.Content == "" || acc.Choices[0].FinishReason != "stop" {
		t.Errorf("streamed answer %+v", acc.Choices[0])
	}

	// A tool loop, the thinking sent back with the call: the turn that
	// answers the call thinks too (Anthropic checks the signature).
	weather := []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(weatherTool)}
	first, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude-think", ReasoningEffort: shared.ReasoningEffortLow, Tools: weather,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")}})
	if err != nil || len(first.Choices[0].Message.ToolCalls) != 1 {
		t.Fatalf("tool call from claude-think: %v %+v", err, first)
	}
	call := first.Choices[0].Message.ToolCalls[0]
	answer := func(blocks json.RawMessage) (*openai.ChatCompletion, error) {
		asst := first.Choices[0].Message.ToAssistantMessageParam()
		if blocks != nil {
			asst.SetExtraFields(map[string]any{"thinking_blocks": blocks})
		}
		return oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude-think", ReasoningEffort: shared.ReasoningEffortLow, Tools: weather,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?"),
				{OfAssistant: &asst}, openai.ToolMessage(`{"temp_c": 21}`, call.ID)}})
	}
	sent := json.RawMessage(first.Choices[0].Message.JSON.ExtraFields["thinking_blocks"].Raw())
	second, err := answer(sent)
	if err != nil || second.Usage.CompletionTokens <= longThinking {
		t.Fatalf("answering the call with its thinking: %v, usage %+v; want thinking (%d tokens) billed", err, second, longThinking)
	}
	// Without the blocks the turn goes without thinking rather than fail.
	if bare, err := answer(nil); err != nil || bare.Usage.CompletionTokens > longThinking {
		t.Errorf("answering the call without its thinking: %v %+v; want an answer, no thinking", err, bare)
	}
	// Thinking altered on the way back is Anthropic's 400, passed on.
	var tampered []thinkingBlock
	if err := json.Unmarshal(sent, &tampered); err != nil || len(tampered) != 1 {
		t.Fatalf("thinking_blocks %s: %v", sent, err)
	}
	tampered[0].Thinking += " (edited)"
	edited, _ := json.Marshal(tampered)
	var apiErr *openai.Error
	if _, err := answer(edited); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(apiErr.Message, "signature") {
		t.Errorf("altered thinking sent back: %v, want a 400 about the signature", err)
	}

	// Anthropic client, streamed, same API: the long thinking is relayed.
	as := an.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "claude-think", MaxTokens: 4096, Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Why?"))}})
	var am anthropic.Message
	for as.Next() {
		if err := am.Accumulate(as.Current()); err != nil {
			t.Fatalf("accumulate: %v", err)
		}
	}
	if err := as.Err(); err != nil {
		t.Fatalf("anthropic client streamed from claude-think (%d thinking deltas): %v", longThinking, err)
	}
	if len(am.Content) != 2 || am.Content[0].Thinking != reasoning || am.Content[0].Signature != blocks[0].Signature {
		t.Errorf("anthropic stream: %+v, want the thinking block first", am.Content)
	}

	// Anthropic client, OpenAI-compatible deployment showing its
	// reasoning: a thinking block first, complete and streamed.
	params := anthropic.MessageNewParams{Model: "deepseek", MaxTokens: 4096, Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Why?"))}}
	dm, err := an.Messages.New(ctx, params)
	if err != nil || len(dm.Content) != 2 || dm.Content[0].Type != "thinking" || !strings.HasPrefix(dm.Content[0].Thinking, "Let me think") || dm.Content[1].Text == "" {
		t.Fatalf("anthropic client to deepseek: %v %+v, want its reasoning as a thinking block", err, dm)
	}
	ds := an.Messages.NewStreaming(ctx, params)
	var dsm anthropic.Message
	for ds.Next() {
		if err := dsm.Accumulate(ds.Current()); err != nil {
			t.Fatalf("accumulate: %v", err)
		}
	}
	if err := ds.Err(); err != nil || len(dsm.Content) != 2 || dsm.Content[0].Thinking != dm.Content[0].Thinking || dsm.Content[1].Text != dm.Content[1].Text {
		t.Errorf("anthropic client streamed from deepseek: %v %+v, want %+v", err, dsm.Content, dm.Content)
	}

	// OpenAI client to the OpenAI-compatible deployment, sending back a
	// Claude turn's thinking_blocks (a route may mix the two): they are
	// dropped, since no such server takes them; reasoning_content is
	// relayed as the server sent it.
	asst := first.Choices[0].Message.ToAssistantMessageParam()
	asst.SetExtraFields(map[string]any{"thinking_blocks": sent})
	relayed, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "deepseek", ReasoningEffort: shared.ReasoningEffortLow, Tools: weather,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?"), {OfAssistant: &asst}, openai.ToolMessage(`{"temp_c": 21}`, call.ID)}})
	if err != nil {
		t.Fatalf("thinking_blocks sent to an OpenAI-compatible deployment: %v", err)
	}
	if !strings.HasPrefix(relayed.Choices[0].Message.JSON.ExtraFields["reasoning_content"].Raw(), `"Let me think`) {
		t.Errorf("relayed reasoning_content %q", relayed.Choices[0].Message.JSON.ExtraFields["reasoning_content"].Raw())
	}
}

// TestThinkingInResponsesAPI: through the Responses API (official Go
// SDK), a translated answer's thinking is a reasoning item (the text as
// summary, the signed block in encrypted_content), complete and streamed;
// sending the items back, or naming the response, keeps Claude thinking
// through a tool loop; and an OpenAI deployment is never sent such an
// item, which it could not verify.
func TestThinkingInResponsesAPI(t *testing.T) {
	s := startThinkingStack(t)
	ctx := context.Background()
	c := s.openai()
	effort := shared.ReasoningParam{Effort: shared.ReasoningEffortLow}
	weather := []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather",
		map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}, false)}
	ask := responses.ResponseInputItemParamOfMessage("What is the weather in Paris?", responses.EasyInputMessageRoleUser)

	first, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude-think", Reasoning: effort, Tools: weather,
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{ask}}})
	if err != nil {
		t.Fatalf("responses to claude-think: %v", err)
	}
	if len(first.Output) != 2 || first.Output[0].Type != "reasoning" || first.Output[1].Type != "function_call" {
		t.Fatalf("output %+v, want the reasoning item, then the call", first.Output)
	}
	reasoning, call := first.Output[0].AsReasoning(), first.Output[1].AsFunctionCall()
	if len(reasoning.Summary) != 1 || len(strings.Fields(reasoning.Summary[0].Text)) != longThinking ||
		!strings.HasPrefix(reasoning.EncryptedContent, "switchyard-thinking:") || !strings.HasPrefix(reasoning.ID, "rs_") {
		t.Fatalf("reasoning item %+v", reasoning)
	}
	if first.Usage.OutputTokens <= longThinking {
		t.Errorf("usage %+v, want the thinking billed", first.Usage)
	}

	// The client keeps the conversation (store false) and sends the
	// items back: the turn that answers the call thinks.
	output := responses.ResponseInputItemParamOfFunctionCallOutput(`{"temp_c": 21}`)
	output.OfFunctionCallOutput.CallID = openai.String(call.CallID)
	loop := responses.ResponseInputParam{ask, {OfReasoning: ptr(reasoning.ToParam())}, {OfFunctionCall: ptr(call.ToParam())}, output}
	second, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude-think", Reasoning: effort, Tools: weather, Store: openai.Bool(false),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: loop}})
	if err != nil || second.Usage.OutputTokens <= longThinking || second.OutputText() == "" {
		t.Fatalf("the call's answer with the items sent back: %v %+v; want an answer, thinking billed", err, second)
	}
	// Without the reasoning item, the turn goes without thinking.
	bare, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude-think", Reasoning: effort, Tools: weather,
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{ask, {OfFunctionCall: ptr(call.ToParam())}, output}}})
	if err != nil || bare.Usage.OutputTokens > longThinking {
		t.Errorf("the call's answer without the reasoning item: %v %+v; want no thinking", err, bare)
	}
	// Naming the response: the gateway kept its thinking.
	named, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude-think", Reasoning: effort, Tools: weather,
		PreviousResponseID: openai.String(first.ID), Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{output}}})
	if err != nil || named.Usage.OutputTokens <= longThinking {
		t.Errorf("continuing %s by name: %v %+v; want thinking billed", first.ID, err, named)
	}

	// Streamed: summary deltas as the thinking comes, the item whole at
	// its end, and in response.completed.
	stream := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "claude-think", Reasoning: effort, Input: responsesInput("Why is the sky blue?")})
	var summary strings.Builder
	var done responses.ResponseReasoningItem
	var final responses.Response
	for stream.Next() {
		switch ev := stream.Current(); ev.Type {
		case "response.reasoning_summary_text.delta":
			summary.WriteString(ev.Delta)
		case "response.output_item.done":
			if ev.Item.Type == "reasoning" {
				done = ev.Item.AsReasoning()
			}
		case "response.completed":
			final = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("streamed (%d thinking deltas): %v", longThinking, err)
	}
	stream.Close()
	if summary.String() != reasoning.Summary[0].Text || done.EncryptedContent != reasoning.EncryptedContent ||
		len(final.Output) != 2 || final.Output[0].AsReasoning().EncryptedContent != reasoning.EncryptedContent || final.OutputText() == "" {
		t.Errorf("streamed thinking %q, item %+v, final output %+v", summary.String(), done, final.Output)
	}

	// The same items sent to an OpenAI deployment (relayed): the
	// reasoning item is left out rather than refused there.
	relayed, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "medium", Tools: weather,
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: loop}})
	if err != nil || relayed.OutputText() == "" {
		t.Errorf("our reasoning item relayed to an OpenAI deployment: %v %+v", err, relayed)
	}
}

func ptr[T any](v T) *T { return &v }
