package openaiapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/dialecttest"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// sdkStream runs a streaming request through the official SDK and returns
// the accumulated completion, the chunks and the stream error.
func sdkStream(t *testing.T, url string, includeUsage bool) (openai.ChatCompletion, []openai.ChatCompletionChunk, error) {
	t.Helper()
	client := openai.NewClient(option.WithBaseURL(url), option.WithAPIKey("sk-test"), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{
		Model:    "smart",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather in Paris?")},
	}
	if includeUsage {
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	defer stream.Close()
	var (
		acc    openai.ChatCompletionAccumulator
		chunks []openai.ChatCompletionChunk
	)
	for stream.Next() {
		c := stream.Current()
		chunks = append(chunks, c)
		if !acc.AddChunk(c) {
			t.Fatalf("accumulator rejected chunk %d: %s", len(chunks), c.RawJSON())
		}
	}
	return acc.ChatCompletion, chunks, stream.Err()
}

func TestStreamSDK(t *testing.T) {
	type tool struct{ ID, Name, Args string }
	tests := []struct {
		name         string
		src          llm.Dialect
		events       []llm.Event
		includeUsage bool
		wantID       string
		wantModel    string
		wantText     string
		wantTools    []tool
		wantUsage    llm.Usage
	}{
		{
			name: "openai passthrough with usage", src: llm.DialectOpenAI, events: dialecttest.OpenAIStream(), includeUsage: true,
			wantID: "chatcmpl-abc", wantModel: "gpt-4o-2024-08-06", wantText: "Let me check.",
			wantTools: []tool{{"call_1", "get_weather", `{"city":"Paris"}`}, {"call_2", "get_time", `{}`}},
			wantUsage: llm.Usage{InputTokens: 31, OutputTokens: 17},
		},
		{
			name: "openai passthrough without usage", src: llm.DialectOpenAI, events: dialecttest.OpenAIStream(),
			wantID: "chatcmpl-abc", wantModel: "gpt-4o-2024-08-06", wantText: "Let me check.",
			wantTools: []tool{{"call_1", "get_weather", `{"city":"Paris"}`}, {"call_2", "get_time", `{}`}},
			wantUsage: llm.Usage{InputTokens: 31, OutputTokens: 17},
		},
		{
			name: "anthropic translated with usage", src: llm.DialectAnthropic, events: dialecttest.AnthropicStream(), includeUsage: true,
			wantID: "chatcmpl-test", wantModel: "claude-sonnet-4-5", wantText: "Checking now.",
			wantTools: []tool{{"toolu_01", "get_weather", `{"city": "Paris"}`}},
			wantUsage: llm.Usage{InputTokens: 25, OutputTokens: 9},
		},
		{
			name: "anthropic translated without usage", src: llm.DialectAnthropic, events: dialecttest.AnthropicStream(),
			wantID: "chatcmpl-test", wantModel: "claude-sonnet-4-5", wantText: "Checking now.",
			wantTools: []tool{{"toolu_01", "get_weather", `{"city": "Paris"}`}},
			wantUsage: llm.Usage{InputTokens: 25, OutputTokens: 9},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, gotSW := dialecttest.StreamServer(t, dialect, tt.src, tt.events, nil)
			cc, chunks, err := sdkStream(t, srv.URL, tt.includeUsage)
			if err != nil {
				t.Fatalf("stream error: got %v, want nil", err)
			}
			if cc.ID != tt.wantID || cc.Model != tt.wantModel {
				t.Errorf("got id %q model %q, want %q %q", cc.ID, cc.Model, tt.wantID, tt.wantModel)
			}
			if len(cc.Choices) != 1 {
				t.Fatalf("got %d choices, want 1", len(cc.Choices))
			}
			ch := cc.Choices[0]
			if ch.Message.Content != tt.wantText || ch.FinishReason != "tool_calls" {
				t.Errorf("got content %q finish %q, want %q tool_calls", ch.Message.Content, ch.FinishReason, tt.wantText)
			}
			if len(ch.Message.ToolCalls) != len(tt.wantTools) {
				t.Fatalf("got %d tool calls, want %d", len(ch.Message.ToolCalls), len(tt.wantTools))
			}
			for i, tc := range ch.Message.ToolCalls {
				if got := (tool{tc.ID, tc.Function.Name, tc.Function.Arguments}); got != tt.wantTools[i] {
					t.Errorf("tool call %d: got %+v, want %+v", i, got, tt.wantTools[i])
				}
			}
			usageChunks := 0
			for _, c := range chunks {
				if len(c.Choices) == 0 {
					usageChunks++
				}
			}
			wantUsageChunks := 0
			if tt.includeUsage {
				wantUsageChunks = 1
				if cc.Usage.PromptTokens != int64(tt.wantUsage.InputTokens) || cc.Usage.CompletionTokens != int64(tt.wantUsage.OutputTokens) {
					t.Errorf("got usage %d/%d, want %+v", cc.Usage.PromptTokens, cc.Usage.CompletionTokens, tt.wantUsage)
				}
			}
			if usageChunks != wantUsageChunks {
				t.Errorf("got %d usage-only chunks, want %d", usageChunks, wantUsageChunks)
			}
			dialecttest.CheckWriter(t, <-gotSW, tt.wantUsage, tt.wantModel)
		})
	}
}

func TestStreamInBandError(t *testing.T) {
	tests := []struct {
		name   string
		src    llm.Dialect
		events []llm.Event
	}{
		{name: "passthrough", src: llm.DialectOpenAI, events: dialecttest.OpenAIStream()[:3]},
		{name: "translated", src: llm.DialectAnthropic, events: dialecttest.AnthropicStream()[:5]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fail := &provider.Error{Kind: provider.KindUnavailable, Status: 529, Message: "Overloaded"}
			srv, _ := dialecttest.StreamServer(t, dialect, tt.src, tt.events, fail)
			_, chunks, err := sdkStream(t, srv.URL, true)
			if err == nil || !strings.Contains(err.Error(), "upstream_unavailable") || !strings.Contains(err.Error(), "Overloaded") {
				t.Fatalf("got stream error %v, want one naming upstream_unavailable and Overloaded", err)
			}
			if len(chunks) == 0 {
				t.Errorf("got no chunks before the error, want the partial answer")
			}
		})
	}
}

func TestStreamRawFrames(t *testing.T) {
	dialecttest.StreamFrames(t, dialect, []dialecttest.FramesCase{
		{
			Name: "synthetic done after passthrough writes only [DONE]",
			Src:  llm.DialectOpenAI,
			Events: []llm.Event{
				{Start: true, Text: "x", FinishReason: llm.FinishStop, Raw: dialecttest.Frame(`{"a":1}`)},
				{Done: true},
			},
			Want: `data: {"a":1}` + "\n\n" + "data: [DONE]\n\n",
		},
		{
			Name:   "in-band error has no [DONE]",
			Src:    llm.DialectOpenAI,
			Events: []llm.Event{{Start: true, Text: "x", Raw: dialecttest.Frame(`{"a":1}`)}},
			Fail:   &provider.Error{Kind: provider.KindTimeout},
			Want: `data: {"a":1}` + "\n\n" +
				`data: {"error":{"message":"upstream model did not answer in time","type":"server_error","param":null,"code":"upstream_timeout"}}` + "\n\n",
		},
		{
			Name:   "finish completes a translated stream",
			Src:    llm.DialectAnthropic,
			Events: []llm.Event{{Start: true, ID: "msg_1", Model: "c"}, {Text: "hi"}},
			Want: `data: {"id":"chatcmpl-test","object":"chat.completion.chunk","created":1700000000,"model":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n" +
				`data: {"id":"chatcmpl-test","object":"chat.completion.chunk","created":1700000000,"model":"c","choices":[{"index":0,"delta":{"content":"hi"},"logprobs":null,"finish_reason":null}]}` + "\n\n" +
				`data: {"id":"chatcmpl-test","object":"chat.completion.chunk","created":1700000000,"model":"c","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}` + "\n\n" +
				"data: [DONE]\n\n",
		},
	})
}

func TestStreamErrorBeforeStart(t *testing.T) {
	dialecttest.StreamErrorBeforeStart(t, dialect, llm.DialectAnthropic, dialecttest.ErrorCase{
		Err:        &provider.Error{Kind: provider.KindRateLimited, RetryAfter: 1500 * time.Millisecond, Message: "slow down"},
		Status:     http.StatusTooManyRequests,
		RetryAfter: "2",
		Body:       `{"error":{"message":"slow down","type":"rate_limit_exceeded","param":null,"code":"rate_limit_exceeded"}}`,
	})
}
