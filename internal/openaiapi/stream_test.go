package openaiapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

func testSource() source {
	return source{
		now:   func() time.Time { return time.Unix(1700000000, 0) },
		newID: func(prefix string) string { return prefix + "test" },
	}
}

func frame(data string) []byte { return []byte("data: " + data + "\n\n") }

func aframe(event, data string) []byte {
	return []byte("event: " + event + "\ndata: " + data + "\n\n")
}

// openAIEvents is a tool-calling OpenAI stream as the OpenAI adapter emits
// it (include_usage forced upstream).
func openAIEvents() []llm.Event {
	const head = `{"id":"chatcmpl-abc","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-2024-08-06",`
	return []llm.Event{
		{Start: true, ID: "chatcmpl-abc", Model: "gpt-4o-2024-08-06", Raw: frame(head + `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}`)},
		{Text: "Let me check.", Raw: frame(head + `"choices":[{"index":0,"delta":{"content":"Let me check."},"finish_reason":null}],"usage":null}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_1", Name: "get_weather"}}, Raw: frame(head + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}],"usage":null}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `{"city":`}}, Raw: frame(head + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}],"usage":null}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `"Paris"}`}}, Raw: frame(head + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}],"usage":null}`)},
		{FinishReason: llm.FinishToolCalls, Raw: frame(head + `"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null}`)},
		{Usage: &llm.Usage{InputTokens: 31, OutputTokens: 17}, Raw: frame(head + `"choices":[],"usage":{"prompt_tokens":31,"completion_tokens":17,"total_tokens":48}}`)},
		{Done: true, Raw: []byte("data: [DONE]\n\n")},
	}
}

// anthropicEvents is a tool-calling Anthropic stream as the Anthropic
// adapter emits it: tool deltas indexed by content block.
func anthropicEvents() []llm.Event {
	return []llm.Event{
		{Start: true, ID: "msg_01", Model: "claude-sonnet-4-5", Usage: &llm.Usage{InputTokens: 25}, Raw: aframe("message_start", `{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}`)},
		{Raw: aframe("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)},
		{Raw: aframe("ping", `{"type": "ping"}`)},
		{Text: "Checking", Raw: aframe("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking"}}`)},
		{Text: " now.", Raw: aframe("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" now."}}`)},
		{Raw: aframe("content_block_stop", `{"type":"content_block_stop","index":0}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "toolu_01", Name: "get_weather"}}, Raw: aframe("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 1, Arguments: `{"city": "Par`}}, Raw: aframe("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Par"}}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 1, Arguments: `is"}`}}, Raw: aframe("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"is\"}"}}`)},
		{Raw: aframe("content_block_stop", `{"type":"content_block_stop","index":1}`)},
		{FinishReason: llm.FinishToolCalls, Usage: &llm.Usage{OutputTokens: 9}, Raw: aframe("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}`)},
		{Done: true, Raw: aframe("message_stop", `{"type":"message_stop"}`)},
	}
}

// streamServer serves the chat endpoint: it parses the SDK's request with
// ParseChat and plays events through a StreamWriter, then fail (if not nil)
// as an in-band error, else Finish. The last writer is sent on got.
func streamServer(t *testing.T, src llm.Dialect, events []llm.Event, fail error, got chan<- *StreamWriter) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		req, err := ParseChat(body)
		if err != nil {
			WriteErrorFor(w, err)
			return
		}
		sw := NewStreamWriter(w, req, src)
		sw.gen = testSource()
		for _, ev := range events {
			if err := sw.WriteEvent(ev); err != nil {
				t.Errorf("WriteEvent: %v", err)
			}
		}
		if fail != nil {
			sw.WriteError(fail)
		} else if err := sw.Finish(); err != nil {
			t.Errorf("Finish: %v", err)
		}
		got <- sw
	}))
	t.Cleanup(srv.Close)
	return srv
}

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
	tests := []struct {
		name         string
		src          llm.Dialect
		events       []llm.Event
		includeUsage bool
		wantID       string
		wantModel    string
		wantText     string
		wantToolID   string
		wantArgs     string
		wantUsage    llm.Usage
	}{
		{
			name: "openai passthrough with usage", src: llm.DialectOpenAI, events: openAIEvents(), includeUsage: true,
			wantID: "chatcmpl-abc", wantModel: "gpt-4o-2024-08-06", wantText: "Let me check.", wantToolID: "call_1",
			wantArgs: `{"city":"Paris"}`, wantUsage: llm.Usage{InputTokens: 31, OutputTokens: 17},
		},
		{
			name: "openai passthrough without usage", src: llm.DialectOpenAI, events: openAIEvents(),
			wantID: "chatcmpl-abc", wantModel: "gpt-4o-2024-08-06", wantText: "Let me check.", wantToolID: "call_1",
			wantArgs: `{"city":"Paris"}`, wantUsage: llm.Usage{InputTokens: 31, OutputTokens: 17},
		},
		{
			name: "anthropic translated with usage", src: llm.DialectAnthropic, events: anthropicEvents(), includeUsage: true,
			wantID: "msg_01", wantModel: "claude-sonnet-4-5", wantText: "Checking now.", wantToolID: "toolu_01",
			wantArgs: `{"city": "Paris"}`, wantUsage: llm.Usage{InputTokens: 25, OutputTokens: 9},
		},
		{
			name: "anthropic translated without usage", src: llm.DialectAnthropic, events: anthropicEvents(),
			wantID: "msg_01", wantModel: "claude-sonnet-4-5", wantText: "Checking now.", wantToolID: "toolu_01",
			wantArgs: `{"city": "Paris"}`, wantUsage: llm.Usage{InputTokens: 25, OutputTokens: 9},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotSW := make(chan *StreamWriter, 1)
			srv := streamServer(t, tt.src, tt.events, nil, gotSW)
			cc, chunks, err := sdkStream(t, srv.URL, tt.includeUsage)
			if err != nil {
				t.Fatalf("stream error: got %v, want nil", err)
			}
			sw := <-gotSW
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
			if len(ch.Message.ToolCalls) != 1 {
				t.Fatalf("got %d tool calls, want 1", len(ch.Message.ToolCalls))
			}
			tc := ch.Message.ToolCalls[0]
			if tc.ID != tt.wantToolID || tc.Function.Name != "get_weather" || tc.Function.Arguments != tt.wantArgs {
				t.Errorf("got tool call %q %q %q, want %q get_weather %q", tc.ID, tc.Function.Name, tc.Function.Arguments, tt.wantToolID, tt.wantArgs)
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
			if sw.Usage() != tt.wantUsage || sw.Model() != tt.wantModel || !sw.Started() {
				t.Errorf("writer: got usage %+v model %q started %v, want %+v %q true", sw.Usage(), sw.Model(), sw.Started(), tt.wantUsage, tt.wantModel)
			}
		})
	}
}

func TestStreamInBandError(t *testing.T) {
	tests := []struct {
		name   string
		src    llm.Dialect
		events []llm.Event
	}{
		{name: "passthrough", src: llm.DialectOpenAI, events: openAIEvents()[:3]},
		{name: "translated", src: llm.DialectAnthropic, events: anthropicEvents()[:5]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fail := &provider.Error{Kind: provider.KindUnavailable, Status: 529, Message: "Overloaded"}
			srv := streamServer(t, tt.src, tt.events, fail, make(chan *StreamWriter, 1))
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
	fail := &provider.Error{Kind: provider.KindTimeout}
	tests := []struct {
		name   string
		src    llm.Dialect
		events []llm.Event
		fail   error
		want   string // exact body; frames joined
	}{
		{
			name: "synthetic done after passthrough writes only [DONE]",
			src:  llm.DialectOpenAI,
			events: []llm.Event{
				{Start: true, Text: "x", FinishReason: llm.FinishStop, Raw: frame(`{"a":1}`)},
				{Done: true},
			},
			want: `data: {"a":1}` + "\n\n" + "data: [DONE]\n\n",
		},
		{
			name:   "in-band error has no [DONE]",
			src:    llm.DialectOpenAI,
			events: []llm.Event{{Start: true, Text: "x", Raw: frame(`{"a":1}`)}},
			fail:   fail,
			want: `data: {"a":1}` + "\n\n" +
				`data: {"error":{"message":"upstream model did not answer in time","type":"server_error","param":null,"code":"upstream_timeout"}}` + "\n\n",
		},
		{
			name:   "finish completes a translated stream",
			src:    llm.DialectAnthropic,
			events: []llm.Event{{Start: true, ID: "msg_1", Model: "c"}, {Text: "hi"}},
			want: `data: {"id":"msg_1","object":"chat.completion.chunk","created":1700000000,"model":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n" +
				`data: {"id":"msg_1","object":"chat.completion.chunk","created":1700000000,"model":"c","choices":[{"index":0,"delta":{"content":"hi"},"logprobs":null,"finish_reason":null}]}` + "\n\n" +
				`data: {"id":"msg_1","object":"chat.completion.chunk","created":1700000000,"model":"c","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}` + "\n\n" +
				"data: [DONE]\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			sw := NewStreamWriter(rec, &llm.Request{Model: "smart"}, tt.src)
			sw.gen = testSource()
			for _, ev := range tt.events {
				if err := sw.WriteEvent(ev); err != nil {
					t.Fatalf("WriteEvent: %v", err)
				}
			}
			if tt.fail != nil {
				sw.WriteError(tt.fail)
			}
			if err := sw.Finish(); err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("got body\n%s\nwant\n%s", got, tt.want)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("got content type %q, want text/event-stream", ct)
			}
			if !rec.Flushed {
				t.Error("got no flush, want a flush per event")
			}
		})
	}
}

func TestStreamErrorBeforeStart(t *testing.T) {
	rec := httptest.NewRecorder()
	sw := NewStreamWriter(rec, &llm.Request{Model: "smart"}, llm.DialectAnthropic)
	if sw.Started() {
		t.Fatal("got started before any write, want not started")
	}
	sw.WriteError(&provider.Error{Kind: provider.KindRateLimited, RetryAfter: 1500 * time.Millisecond, Message: "slow down"})
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "2" {
		t.Errorf("got status %d retry-after %q, want 429 and 2", rec.Code, rec.Header().Get("Retry-After"))
	}
	want := `{"error":{"message":"slow down","type":"rate_limit_exceeded","param":null,"code":"rate_limit_exceeded"}}`
	if got := rec.Body.String(); got != want {
		t.Errorf("got body %s, want %s", got, want)
	}
	if err := sw.Finish(); err != nil || rec.Body.String() != want {
		t.Errorf("Finish after error wrote more: err %v body %s", err, rec.Body.String())
	}
}
