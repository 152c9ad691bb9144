package app

import (
	"context"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/switchyard-gw/switchyard/internal/sim"
)

// reasoningConfig adds reasoning deployments to baseConfig: an
// OpenAI-kind one (o-think) and an Anthropic one (claude-think).
const reasoningDeployments = `  - name: o-think
    provider: sim-openai
    model: sim-o
    price: {input_per_mtok: 1, output_per_mtok: 4}
    capabilities: {reasoning: true}
  - name: claude-think
    provider: sim-anthropic
    model: sim-claude-think
    price: {input_per_mtok: 3, output_per_mtok: 15}
    capabilities: {reasoning: true}
routes:`

// TestReasoningAcrossAPIs: a client's reasoning request reaches a
// reasoning deployment of the other API in the shape it takes (an
// Anthropic client's thinking as OpenAI's reasoning_effort, with
// max_completion_tokens, which such models need; an OpenAI client's
// effort as Anthropic's thinking), the thinking text never reaches an
// OpenAI client's content (it comes apart, see
// TestThinkingReachesClients), and a deployment that does not reason is
// not sent it.
func TestReasoningAcrossAPIs(t *testing.T) {
	simCfg := fastSim()
	simCfg.Models = append(simCfg.Models,
		sim.Model{Name: "sim-o", ContextWindow: 100000, OutputTokens: 12, Reasoning: true},
		sim.Model{Name: "sim-claude-think", ContextWindow: 100000, OutputTokens: 12, Reasoning: true})
	cfg := strings.Replace(baseConfig, "routes:", reasoningDeployments, 1)
	s := startStack(t, simCfg, cfg)
	ctx := context.Background()
	oa, an := s.openai(), s.anthropic()

	// Anthropic client, thinking on, to an OpenAI reasoning model: the
	// model refuses max_tokens, so this works only if translated right.
	msg, err := an.Messages.New(ctx, anthropic.MessageNewParams{Model: "o-think", MaxTokens: 4096,
		Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Why is the sky blue?"))}})
	if err != nil {
		t.Fatalf("anthropic client to o-think: %v", err)
	}
	if msg.StopReason != "end_turn" || msg.Usage.OutputTokens != 12+8 { // 8: low effort's reasoning tokens
		t.Errorf("anthropic client to o-think: stop %q usage %+v, want the answer and low effort's reasoning tokens", msg.StopReason, msg.Usage)
	}
	// Without thinking, a reasoning model still gets max_completion_tokens.
	if _, err := an.Messages.New(ctx, anthropic.MessageNewParams{Model: "o-think", MaxTokens: 256, Temperature: anthropic.Float(0.3),
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}); err != nil {
		t.Errorf("anthropic client to o-think with temperature, no thinking: %v", err)
	}

	// OpenAI client, reasoning effort, to Claude with thinking: the
	// answer holds no thinking text, and the thinking is billed.
	resp, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude-think", ReasoningEffort: shared.ReasoningEffortLow,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Why is the sky blue?")}})
	if err != nil {
		t.Fatalf("openai client to claude-think: %v", err)
	}
	if c := resp.Choices[0].Message.Content; c == "" || strings.Contains(c, "think this through") || resp.Usage.CompletionTokens != 12+16 {
		t.Errorf("openai client to claude-think: content %q usage %+v, want the answer alone and the thinking tokens billed", c, resp.Usage)
	}
	stream := oa.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "claude-think", ReasoningEffort: shared.ReasoningEffortHigh,
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me a story")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("streamed to claude-think: %v", err)
	}
	stream.Close()
	if c := acc.Choices[0].Message.Content; c == "" || strings.Contains(c, "think this through") || acc.Choices[0].FinishReason != "stop" || acc.Usage.CompletionTokens != 12+16 {
		t.Errorf("streamed to claude-think: content %q finish %q usage %+v", c, acc.Choices[0].FinishReason, acc.Usage)
	}

	// A tool loop whose client does not send back the thinking block
	// (with its signature) that came with the tool call, which Anthropic
	// requires while thinking is on (the SDK's ToParam drops it): the
	// turn that answers the call goes without thinking instead of a 400.
	weather := []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather",
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}})}
	ask := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")}
	first, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude-think", ReasoningEffort: shared.ReasoningEffortLow, Tools: weather, Messages: ask})
	if err != nil || len(first.Choices[0].Message.ToolCalls) != 1 {
		t.Fatalf("tool call from claude-think: %v %+v", err, first)
	}
	call := first.Choices[0].Message.ToolCalls[0]
	loop := append(ask, first.Choices[0].Message.ToParam(), openai.ToolMessage(`{"temp_c": 21}`, call.ID))
	second, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude-think", ReasoningEffort: shared.ReasoningEffortLow, Tools: weather, Messages: loop})
	if err != nil || second.Choices[0].Message.Content == "" {
		t.Fatalf("answering claude-think's tool call, reasoning on: %v", err)
	}
	// The next user turn starts a new cycle: thinking again.
	next, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude-think", ReasoningEffort: shared.ReasoningEffortLow, Tools: weather,
		Messages: append(loop, second.Choices[0].Message.ToParam(), openai.UserMessage("And in Rome?"))})
	if err != nil || next.Usage.CompletionTokens <= 16 {
		t.Errorf("a new user turn after the tool loop: %v, usage %+v, want thinking (16 tokens) billed again", err, next)
	}

	// A deployment that does not reason is not sent the effort (the
	// simulated Claude refuses thinking from a model without it).
	if _, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude", ReasoningEffort: shared.ReasoningEffortHigh,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}); err != nil {
		t.Errorf("openai client with effort to a plain claude: %v", err)
	}

	// Same API: the thinking block is relayed as the provider sent it.
	msg, err = an.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-think", MaxTokens: 4096,
		Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Why?"))}})
	if err != nil || len(msg.Content) != 2 || msg.Content[0].Type != "thinking" || msg.Content[0].Thinking == "" {
		t.Errorf("anthropic client to claude-think: %v %+v, want the thinking block first", err, msg)
	}
}
