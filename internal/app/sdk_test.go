package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/switchyard-gw/switchyard/internal/sim"
)

// fastSim is the demo simulator with no artificial latency.
func fastSim() sim.Config {
	cfg := sim.DefaultConfig()
	for i := range cfg.Models {
		cfg.Models[i].Latency = 0
		cfg.Models[i].FirstToken = 0
		cfg.Models[i].TokensPerSecond = 0
	}
	return cfg
}

func (s *stack) openai() openai.Client {
	return openai.NewClient(option.WithBaseURL(s.base+"/v1"), option.WithAPIKey("unused"), option.WithHTTPClient(s.hc), option.WithMaxRetries(0))
}

func (s *stack) anthropic() anthropic.Client {
	return anthropic.NewClient(aoption.WithBaseURL(s.base), aoption.WithAPIKey("unused"), aoption.WithHTTPClient(s.hc), aoption.WithMaxRetries(0))
}

var weatherTool = shared.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("Get the weather for a city"),
	Parameters: shared.FunctionParameters{
		"type":       "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}},
		"required":   []string{"city"},
	},
}

func TestOpenAISDKChat(t *testing.T) {
	s := startStack(t, fastSim(), "")
	c := s.openai()
	ctx := context.Background()
	var httpResp *http.Response
	resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "auto",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	}, option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	if resp.Model != "sim-medium" {
		t.Errorf("model: got %q, want sim-medium (the model that answered)", resp.Model)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content == "" {
		t.Fatalf("choices: got %+v", resp.Choices)
	}
	if resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens == 0 {
		t.Errorf("usage: got %+v, want non-zero", resp.Usage)
	}
	for h, want := range map[string]string{"X-Switchyard-Route": "auto", "X-Switchyard-Deployment": "medium", "X-Switchyard-Attempts": "1"} {
		if got := httpResp.Header.Get(h); got != want {
			t.Errorf("%s: got %q, want %q", h, got, want)
		}
	}
	if httpResp.Header.Get("X-Request-Id") == "" {
		t.Error("X-Request-Id missing")
	}
}

func TestOpenAISDKStream(t *testing.T) {
	s := startStack(t, fastSim(), "")
	c := s.openai()
	for _, model := range []string{"medium", "claude"} { // same dialect, then OpenAI client → Anthropic provider
		t.Run(model, func(t *testing.T) {
			stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
				Model:         model,
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me a story")},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			})
			defer stream.Close()
			acc := openai.ChatCompletionAccumulator{}
			chunks := 0
			for stream.Next() {
				acc.AddChunk(stream.Current())
				chunks++
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if chunks < 3 {
				t.Errorf("chunks: got %d, want several", chunks)
			}
			if len(acc.Choices) != 1 || acc.Choices[0].Message.Content == "" {
				t.Fatalf("accumulated: got %+v", acc.Choices)
			}
			if acc.Choices[0].FinishReason != "stop" {
				t.Errorf("finish_reason: got %q, want stop", acc.Choices[0].FinishReason)
			}
			if acc.Usage.CompletionTokens == 0 {
				t.Errorf("usage: got %+v, want completion tokens", acc.Usage)
			}
		})
	}
}

func TestOpenAISDKTools(t *testing.T) {
	s := startStack(t, fastSim(), "")
	c := s.openai()
	for _, model := range []string{"medium", "claude"} {
		t.Run(model, func(t *testing.T) {
			params := openai.ChatCompletionNewParams{
				Model:    model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")},
				Tools:    []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(weatherTool)},
			}
			resp, err := c.Chat.Completions.New(context.Background(), params)
			if err != nil {
				t.Fatalf("chat: %v", err)
			}
			calls := resp.Choices[0].Message.ToolCalls
			if len(calls) != 1 || calls[0].Function.Name != "get_weather" || resp.Choices[0].FinishReason != "tool_calls" {
				t.Fatalf("tool calls: got %+v finish %q", calls, resp.Choices[0].FinishReason)
			}
			var args map[string]any
			if err := json.Unmarshal([]byte(calls[0].Function.Arguments), &args); err != nil {
				t.Fatalf("arguments are not JSON: %q", calls[0].Function.Arguments)
			}
			// Send the tool result back: a full round trip through translation.
			params.Messages = append(params.Messages, resp.Choices[0].Message.ToParam(), openai.ToolMessage(`{"temp_c": 21}`, calls[0].ID))
			resp2, err := c.Chat.Completions.New(context.Background(), params)
			if err != nil {
				t.Fatalf("chat with tool result: %v", err)
			}
			if resp2.Choices[0].Message.Content == "" {
				t.Errorf("answer after tool result: got empty content (finish %q)", resp2.Choices[0].FinishReason)
			}

			stream := c.Chat.Completions.NewStreaming(context.Background(), params2(params))
			defer stream.Close()
			acc := openai.ChatCompletionAccumulator{}
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if len(acc.Choices) != 1 || len(acc.Choices[0].Message.ToolCalls) != 1 || acc.Choices[0].Message.ToolCalls[0].Function.Name != "get_weather" {
				t.Fatalf("streamed tool call: got %+v", acc.Choices)
			}
			if err := json.Unmarshal([]byte(acc.Choices[0].Message.ToolCalls[0].Function.Arguments), new(map[string]any)); err != nil {
				t.Errorf("streamed arguments are not JSON: %q", acc.Choices[0].Message.ToolCalls[0].Function.Arguments)
			}
		})
	}
}

// params2 is the first turn of a tool conversation again (the user asks).
func params2(p openai.ChatCompletionNewParams) openai.ChatCompletionNewParams {
	p.Messages = p.Messages[:1]
	return p
}

func TestOpenAISDKImageAndJSON(t *testing.T) {
	s := startStack(t, fastSim(), "")
	c := s.openai()
	png := "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
	var httpResp *http.Response
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "cheap", // small has no vision: the plan must skip it
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("What is in this picture?"),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: png}),
		})},
	}, option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	if got := httpResp.Header.Get("X-Switchyard-Deployment"); got != "medium" {
		t.Errorf("deployment: got %q, want medium (small lacks vision)", got)
	}
	if !strings.Contains(resp.Choices[0].Message.Content, "image") {
		t.Errorf("content: got %q, want the simulator to mention the image", resp.Choices[0].Message.Content)
	}

	resp, err = c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:          "cheap",
		Messages:       []openai.ChatCompletionMessageParamUnion{openai.UserMessage("List three colours as JSON")},
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}},
	})
	if err != nil {
		t.Fatalf("json mode: %v", err)
	}
	if !json.Valid([]byte(resp.Choices[0].Message.Content)) {
		t.Errorf("json mode content is not JSON: %q", resp.Choices[0].Message.Content)
	}
}

func TestOpenAISDKEmbeddingsAndModels(t *testing.T) {
	s := startStack(t, fastSim(), "")
	c := s.openai()
	emb, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "embed",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"hello", "world"}},
	})
	if err != nil {
		t.Fatalf("embeddings: %v", err)
	}
	if len(emb.Data) != 2 || len(emb.Data[0].Embedding) == 0 || emb.Usage.PromptTokens == 0 {
		t.Fatalf("embeddings: got %d vectors, usage %+v", len(emb.Data), emb.Usage)
	}
	page, err := c.Models.List(context.Background())
	if err != nil {
		t.Fatalf("models: %v", err)
	}
	ids := map[string]bool{}
	for _, m := range page.Data {
		ids[m.ID] = true
	}
	for _, want := range []string{"auto", "cheap", "medium", "claude", "embed"} {
		if !ids[want] {
			t.Errorf("models: %q missing from %v", want, ids)
		}
	}
	// The SDK's retrieve: a route, a deployment, and a name that is neither.
	for _, id := range []string{"auto", "claude"} {
		m, err := c.Models.Get(context.Background(), id)
		if err != nil || m.ID != id || m.Object != "model" || m.OwnedBy != "switchyard" {
			t.Errorf("models.retrieve(%s): got %+v, %v", id, m, err)
		}
	}
	_, err = c.Models.Get(context.Background(), "no-such-model")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" {
		t.Errorf("models.retrieve(no-such-model): got %v, want a 404 model_not_found", err)
	}
}

func TestAnthropicSDKMessages(t *testing.T) {
	s := startStack(t, fastSim(), "")
	c := s.anthropic()
	for _, model := range []string{"claude", "medium"} { // same dialect, then Anthropic client → OpenAI provider
		t.Run(model, func(t *testing.T) {
			msg, err := c.Messages.New(context.Background(), anthropic.MessageNewParams{
				Model:     anthropic.Model(model),
				MaxTokens: 64,
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello"))},
			})
			if err != nil {
				t.Fatalf("messages: %v", err)
			}
			if len(msg.Content) == 0 || msg.Content[0].Text == "" || msg.StopReason != "end_turn" {
				t.Fatalf("message: got content %+v stop %q", msg.Content, msg.StopReason)
			}
			if msg.Usage.OutputTokens == 0 || msg.Usage.InputTokens == 0 {
				t.Errorf("usage: got %+v", msg.Usage)
			}

			stream := c.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
				Model:     anthropic.Model(model),
				MaxTokens: 64,
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Tell me a story"))},
			})
			defer stream.Close()
			var acc anthropic.Message
			for stream.Next() {
				if err := acc.Accumulate(stream.Current()); err != nil {
					t.Fatalf("accumulate: %v", err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if len(acc.Content) == 0 || acc.Content[0].Text == "" || acc.StopReason != "end_turn" || acc.Usage.OutputTokens == 0 {
				t.Fatalf("streamed message: content %+v stop %q usage %+v", acc.Content, acc.StopReason, acc.Usage)
			}
		})
	}
}

// TestAnthropicSDKCountTokens: the SDK's count_tokens works through the
// gateway: counted by the route's Anthropic deployment when it has one
// (the simulator's count), estimated otherwise, never a 404.
func TestAnthropicSDKCountTokens(t *testing.T) {
	s := startStack(t, fastSim(), "")
	c := s.anthropic()
	text := "Count the tokens of this sentence, please, all of them."
	for _, tt := range []struct{ model, source string }{{"claude", "provider"}, {"medium", "estimate"}} {
		var hr *http.Response
		n, err := c.Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{
			Model:    anthropic.Model(tt.model),
			System:   anthropic.MessageCountTokensParamsSystemUnion{OfString: anthropic.String("Be brief.")},
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
		}, aoption.WithResponseInto(&hr))
		if err != nil {
			t.Fatalf("%s: count_tokens: %v", tt.model, err)
		}
		if n.InputTokens < 5 || hr.Header.Get("X-Switchyard-Token-Count") != tt.source {
			t.Errorf("%s: got %d input tokens from %q, want a count from %s", tt.model, n.InputTokens, hr.Header.Get("X-Switchyard-Token-Count"), tt.source)
		}
	}
	// The simulator is asked only for the Anthropic deployment's count.
	if got := len(calls(s, "sim-large")); got != 0 {
		t.Errorf("count_tokens made %d generation calls, want none", got)
	}
	_, err := c.Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{
		Model:    "no-such-model",
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
	})
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("unknown model: got %v, want a 404", err)
	} else if !strings.HasPrefix(apiErr.RequestID, "req_") {
		t.Errorf("unknown model: the SDK's request id is %q, want the gateway's", apiErr.RequestID)
	}
}

func TestAnthropicSDKTools(t *testing.T) {
	s := startStack(t, fastSim(), "")
	c := s.anthropic()
	tool := anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{
		Name:        "get_weather",
		Description: anthropic.String("Get the weather for a city"),
		InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}},
	}}
	for _, model := range []string{"claude", "medium"} {
		t.Run(model, func(t *testing.T) {
			params := anthropic.MessageNewParams{
				Model:     anthropic.Model(model),
				MaxTokens: 128,
				Tools:     []anthropic.ToolUnionParam{tool},
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))},
			}
			msg, err := c.Messages.New(context.Background(), params)
			if err != nil {
				t.Fatalf("messages: %v", err)
			}
			var use *anthropic.ContentBlockUnion
			for i := range msg.Content {
				if msg.Content[i].Type == "tool_use" {
					use = &msg.Content[i]
				}
			}
			if use == nil || use.Name != "get_weather" || msg.StopReason != "tool_use" {
				t.Fatalf("tool use: got %+v stop %q", msg.Content, msg.StopReason)
			}
			params.Messages = append(params.Messages, msg.ToParam(), anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, `{"temp_c":21}`, false)))
			msg2, err := c.Messages.New(context.Background(), params)
			if err != nil {
				t.Fatalf("messages with tool result: %v", err)
			}
			if msg2.StopReason != "end_turn" {
				t.Errorf("after tool result: stop %q, want end_turn", msg2.StopReason)
			}

			params.Messages = params.Messages[:1]
			stream := c.Messages.NewStreaming(context.Background(), params)
			defer stream.Close()
			var acc anthropic.Message
			for stream.Next() {
				if err := acc.Accumulate(stream.Current()); err != nil {
					t.Fatalf("accumulate: %v", err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			found := false
			for _, b := range acc.Content {
				if b.Type == "tool_use" && b.Name == "get_weather" && json.Valid(b.Input) {
					found = true
				}
			}
			if !found || acc.StopReason != "tool_use" {
				t.Fatalf("streamed tool use: got %+v stop %q", acc.Content, acc.StopReason)
			}
		})
	}
}

// TestAnthropicSDKModels: an Anthropic client listing or getting models
// gets the Anthropic Models API's shape, and its 404.
func TestAnthropicSDKModels(t *testing.T) {
	s := startStack(t, fastSim(), "")
	c := s.anthropic()
	ctx := context.Background()
	var ids []string
	pager := c.Models.ListAutoPaging(ctx, anthropic.ModelListParams{})
	for pager.Next() {
		m := pager.Current()
		if m.Type != "model" || m.CreatedAt.IsZero() || m.DisplayName == "" {
			t.Errorf("model %+v: want type model, a display name and created_at", m)
		}
		ids = append(ids, m.ID)
	}
	if err := pager.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ids, "auto") || !slices.Contains(ids, "claude") || len(ids) > 20 {
		t.Fatalf("models %v: want the routes and deployments once", ids)
	}
	// Pages of two, forward with after_id (what the SDK's auto-pager
	// sends) and back with before_id.
	var paged []string
	pager = c.Models.ListAutoPaging(ctx, anthropic.ModelListParams{Limit: anthropic.Int(2)})
	pages := 0
	for pager.Next() {
		paged = append(paged, pager.Current().ID)
	}
	if err := pager.Err(); err != nil || !slices.Equal(paged, ids) {
		t.Errorf("paged by two: %v %v, want %v", paged, err, ids)
	}
	for p, err := c.Models.List(ctx, anthropic.ModelListParams{Limit: anthropic.Int(2)}); p != nil; p, err = p.GetNextPage() {
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Data) > 2 || len(p.Data) == 0 && pages == 0 {
			t.Errorf("page %d: %d models, want 1 or 2", pages, len(p.Data))
		}
		pages++
	}
	if want := (len(ids) + 1) / 2; pages != want {
		t.Errorf("got %d pages of 2, want %d", pages, want)
	}
	back, err := c.Models.List(ctx, anthropic.ModelListParams{Limit: anthropic.Int(2), BeforeID: anthropic.String(ids[3])})
	if err != nil || len(back.Data) != 2 || back.Data[0].ID != ids[1] || back.Data[1].ID != ids[2] || !back.HasMore {
		t.Errorf("before %s: %+v %v, want %v and has_more", ids[3], back, err, ids[1:3])
	}
	if _, err := c.Models.List(ctx, anthropic.ModelListParams{Limit: anthropic.Int(5000)}); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("limit 5000: %v, want a 400 naming limit", err)
	}
	m, err := c.Models.Get(ctx, "auto", anthropic.ModelGetParams{})
	if err != nil || m.ID != "auto" || m.Type != "model" {
		t.Fatalf("get auto: %+v %v", m, err)
	}
	_, err = c.Models.Get(ctx, "nope", anthropic.ModelGetParams{})
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || !strings.Contains(apiErr.RawJSON(), "not_found_error") {
		t.Fatalf("get nope: %v, want an Anthropic 404 not_found_error", err)
	}
}
