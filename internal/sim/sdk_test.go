package sim

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	anoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	oaoption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// The official SDKs decode what the simulator sends: proof of wire fidelity.

func sdkClients(t *testing.T, cfg Config) (*Server, openai.Client, anthropic.Client) {
	t.Helper()
	s, url, c := startSim(t, cfg)
	oa := openai.NewClient(oaoption.WithBaseURL(url+"/v1"), oaoption.WithAPIKey("sk-test"),
		oaoption.WithMaxRetries(0), oaoption.WithHTTPClient(c))
	an := anthropic.NewClient(anoption.WithBaseURL(url), anoption.WithAPIKey("sk-ant-test"),
		anoption.WithMaxRetries(0), anoption.WithHTTPClient(c))
	return s, oa, an
}

var weatherSchema = map[string]any{
	"city": map[string]any{"type": "string"},
	"unit": map[string]any{"type": "string", "enum": []any{"celsius", "fahrenheit"}},
}

func TestOpenAISDK(t *testing.T) {
	_, oa, _ := sdkClients(t, Config{Models: []Model{testModel("m"), {Name: "e", EmbeddingDims: 8}}})
	ctx := t.Context()
	base := openai.ChatCompletionNewParams{
		Model:    "m",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello sdk")},
	}

	resp, err := oa.Chat.Completions.New(ctx, base)
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	text := resp.Choices[0].Message.Content
	if len(strings.Fields(text)) != 8 || resp.Choices[0].FinishReason != "stop" || resp.Usage.CompletionTokens != 8 || resp.Object != "chat.completion" {
		t.Errorf("got %q finish %q usage %+v, want 8 words, stop, 8 tokens", text, resp.Choices[0].FinishReason, resp.Usage)
	}

	t.Run("stream", func(t *testing.T) {
		p := base
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		st := oa.Chat.Completions.NewStreaming(ctx, p)
		defer st.Close()
		var acc openai.ChatCompletionAccumulator
		for st.Next() {
			acc.AddChunk(st.Current())
		}
		if err := st.Err(); err != nil {
			t.Fatalf("stream: %v", err)
		}
		if got := acc.Choices[0].Message.Content; got != text {
			t.Errorf("got streamed %q, want %q", got, text)
		}
		if acc.Usage.CompletionTokens != 8 || acc.Usage.PromptTokens != resp.Usage.PromptTokens {
			t.Errorf("got usage %+v, want 8 completion and %d prompt tokens", acc.Usage, resp.Usage.PromptTokens)
		}
	})

	t.Run("tools", func(t *testing.T) {
		p := base
		p.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name:       "get_weather",
			Parameters: shared.FunctionParameters{"type": "object", "properties": weatherSchema},
		})}
		r, err := oa.Chat.Completions.New(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		tc := r.Choices[0].Message.ToolCalls
		if len(tc) != 1 || tc[0].Function.Name != "get_weather" || r.Choices[0].FinishReason != "tool_calls" {
			t.Fatalf("got tool calls %+v finish %q, want one get_weather call", tc, r.Choices[0].FinishReason)
		}
		st := oa.Chat.Completions.NewStreaming(ctx, p)
		defer st.Close()
		var acc openai.ChatCompletionAccumulator
		for st.Next() {
			acc.AddChunk(st.Current())
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		stc := acc.Choices[0].Message.ToolCalls
		if len(stc) != 1 || stc[0].Function.Arguments != tc[0].Function.Arguments || stc[0].ID == "" {
			t.Errorf("got streamed tool calls %+v, want arguments %s", stc, tc[0].Function.Arguments)
		}
	})

	t.Run("json mode", func(t *testing.T) {
		p := base
		p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}}
		r, err := oa.Chat.Completions.New(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(r.Choices[0].Message.Content), &obj); err != nil {
			t.Errorf("got content %q, want a JSON object: %v", r.Choices[0].Message.Content, err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name   string
			model  string
			fault  string
			status int
			code   string
		}{
			{"unknown model", "nope", "", 404, "model_not_found"},
			{"rate limited", "m", "status;status=429", 429, "rate_limit_exceeded"},
			{"context length", "m", "context_length", 400, "context_length_exceeded"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := base
				p.Model = tt.model
				var opts []oaoption.RequestOption
				if tt.fault != "" {
					opts = append(opts, oaoption.WithHeader("X-Sim-Fault", tt.fault))
				}
				_, err := oa.Chat.Completions.New(ctx, p, opts...)
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) {
					t.Fatalf("got %v, want *openai.Error", err)
				}
				if apiErr.StatusCode != tt.status || apiErr.Code != tt.code {
					t.Errorf("got %d %q, want %d %q", apiErr.StatusCode, apiErr.Code, tt.status, tt.code)
				}
			})
		}
	})

	t.Run("stream error", func(t *testing.T) {
		st := oa.Chat.Completions.NewStreaming(ctx, base, oaoption.WithHeader("X-Sim-Fault", "stream_error;after=2"))
		defer st.Close()
		n := 0
		for st.Next() {
			n++
		}
		if st.Err() == nil || n != 3 {
			t.Errorf("got %d chunks and error %v, want 3 chunks and an error", n, st.Err())
		}
	})

	t.Run("embeddings", func(t *testing.T) {
		r, err := oa.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model: "e",
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"one", "two", "three"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Data) != 3 || len(r.Data[2].Embedding) != 8 || r.Usage.PromptTokens != 4 {
			t.Fatalf("got %d vectors, usage %+v; want 3 of 8 dims, 4 tokens", len(r.Data), r.Usage)
		}
		var norm float64
		for _, x := range r.Data[0].Embedding {
			norm += x * x
		}
		if math.Abs(norm-1) > 1e-5 {
			t.Errorf("got norm² %v, want 1", norm)
		}
		b64, err := oa.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model:          "e",
			Input:          openai.EmbeddingNewParamsInputUnion{OfString: openai.String("one")},
			EncodingFormat: openai.EmbeddingNewParamsEncodingFormatBase64,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(b64.Data) != 1 {
			t.Fatalf("got %d base64 vectors, want 1", len(b64.Data))
		}
		for i, x := range b64.Data[0].Embedding {
			if math.Abs(x-r.Data[0].Embedding[i]) > 1e-6 {
				t.Fatalf("base64 vector[%d] = %v, want %v", i, x, r.Data[0].Embedding[i])
			}
		}
	})

	t.Run("models", func(t *testing.T) {
		page, err := oa.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 2 || page.Data[0].ID != "m" {
			t.Errorf("got %+v, want models m, e", page.Data)
		}
	})
}

func TestAnthropicSDK(t *testing.T) {
	s, _, an := sdkClients(t, Config{Models: []Model{testModel("m")}})
	ctx := t.Context()
	base := anthropic.MessageNewParams{
		Model:     "m",
		MaxTokens: 100,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello sdk"))},
	}
	msg, err := an.Messages.New(ctx, base)
	if err != nil {
		t.Fatalf("messages: %v", err)
	}
	text := msg.Content[0].Text
	if len(strings.Fields(text)) != 8 || msg.StopReason != anthropic.StopReasonEndTurn || msg.Usage.OutputTokens != 8 {
		t.Errorf("got %q stop %q usage %+v, want 8 words, end_turn, 8 tokens", text, msg.StopReason, msg.Usage)
	}

	t.Run("stream", func(t *testing.T) {
		st := an.Messages.NewStreaming(ctx, base)
		defer st.Close()
		var acc anthropic.Message
		for st.Next() {
			if err := acc.Accumulate(st.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if len(acc.Content) != 1 || acc.Content[0].Text != text || acc.StopReason != anthropic.StopReasonEndTurn {
			t.Errorf("got %+v, want text %q, end_turn", acc.Content, text)
		}
		if acc.Usage.OutputTokens != 8 || acc.Usage.InputTokens != msg.Usage.InputTokens {
			t.Errorf("got usage %+v, want 8 output and %d input tokens", acc.Usage, msg.Usage.InputTokens)
		}
	})

	t.Run("tools", func(t *testing.T) {
		p := base
		p.Tools = []anthropic.ToolUnionParam{anthropic.ToolUnionParamOfTool(
			anthropic.ToolInputSchemaParam{Properties: weatherSchema}, "get_weather")}
		r, err := an.Messages.New(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if r.StopReason != anthropic.StopReasonToolUse || r.Content[0].Type != "tool_use" || r.Content[0].Name != "get_weather" {
			t.Fatalf("got %+v, want a get_weather tool_use", r.Content)
		}
		st := an.Messages.NewStreaming(ctx, p)
		defer st.Close()
		var acc anthropic.Message
		for st.Next() {
			if err := acc.Accumulate(st.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if got, want := string(acc.Content[0].Input), string(r.Content[0].Input); got != want {
			t.Errorf("got streamed input %s, want %s", got, want)
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name   string
			model  string
			fault  string
			status int
			typ    string
		}{
			{"unknown model", "nope", "", 404, "not_found_error"},
			{"overloaded", "m", "status;status=529", 529, "overloaded_error"},
			{"content policy", "m", "content_policy", 400, "invalid_request_error"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := base
				p.Model = anthropic.Model(tt.model)
				var opts []anoption.RequestOption
				if tt.fault != "" {
					opts = append(opts, anoption.WithHeader("X-Sim-Fault", tt.fault))
				}
				_, err := an.Messages.New(ctx, p, opts...)
				var apiErr *anthropic.Error
				if !errors.As(err, &apiErr) {
					t.Fatalf("got %v, want *anthropic.Error", err)
				}
				if apiErr.StatusCode != tt.status || string(apiErr.Type()) != tt.typ {
					t.Errorf("got %d %q, want %d %q", apiErr.StatusCode, apiErr.Type(), tt.status, tt.typ)
				}
			})
		}
	})

	t.Run("stream error", func(t *testing.T) {
		st := an.Messages.NewStreaming(ctx, base, anoption.WithHeader("X-Sim-Fault", "stream_error;after=1"))
		defer st.Close()
		for st.Next() {
		}
		var apiErr *anthropic.Error
		if !errors.As(st.Err(), &apiErr) || apiErr.Type() != "overloaded_error" {
			t.Errorf("got %v, want an overloaded_error", st.Err())
		}
	})

	t.Run("count tokens", func(t *testing.T) {
		r, err := an.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{
			Model:    "m",
			Messages: base.Messages,
		})
		if err != nil {
			t.Fatal(err)
		}
		if r.InputTokens != msg.Usage.InputTokens {
			t.Errorf("got %d input tokens, want %d", r.InputTokens, msg.Usage.InputTokens)
		}
	})

	for _, c := range s.Calls("m") {
		if c.Path != "/v1/messages" {
			t.Errorf("got call path %q, want /v1/messages", c.Path)
		}
		if c.Status == 0 {
			t.Errorf("got call %+v with no status", c)
		}
	}
	if c := s.Calls("m"); len(c) == 0 || c[0].Status != http.StatusOK {
		t.Errorf("got calls %+v, want the first one 200", c)
	}
}
