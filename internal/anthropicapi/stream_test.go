package anthropicapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

func testIDs(prefix string) string { return prefix + "test" }

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
		{Text: "Let me ", Raw: frame(head + `"choices":[{"index":0,"delta":{"content":"Let me "},"finish_reason":null}],"usage":null}`)},
		{Text: "check.", Raw: frame(head + `"choices":[{"index":0,"delta":{"content":"check."},"finish_reason":null}],"usage":null}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_1", Name: "get_weather"}}, Raw: frame(head + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}],"usage":null}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `{"city":`}}, Raw: frame(head + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}],"usage":null}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `"Paris"}`}}, Raw: frame(head + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}],"usage":null}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "call_2", Name: "get_time", Arguments: `{}`}}, Raw: frame(head + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":null}],"usage":null}`)},
		{FinishReason: llm.FinishToolCalls, Raw: frame(head + `"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null}`)},
		{Usage: &llm.Usage{InputTokens: 31, OutputTokens: 17}, Raw: frame(head + `"choices":[],"usage":{"prompt_tokens":31,"completion_tokens":17,"total_tokens":48}}`)},
		{Done: true, Raw: []byte("data: [DONE]\n\n")},
	}
}

// anthropicEvents is a tool-calling Anthropic stream as the Anthropic
// adapter emits it.
func anthropicEvents() []llm.Event {
	return []llm.Event{
		{Start: true, ID: "msg_01", Model: "claude-sonnet-4-5", Usage: &llm.Usage{InputTokens: 25}, Raw: aframe("message_start", `{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}`)},
		{Raw: aframe("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)},
		{Raw: aframe("ping", `{"type": "ping"}`)},
		{Text: "Checking", Raw: aframe("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking"}}`)},
		{Raw: aframe("content_block_stop", `{"type":"content_block_stop","index":0}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "toolu_01", Name: "get_weather"}}, Raw: aframe("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 1, Arguments: `{"city": "Paris"}`}}, Raw: aframe("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Paris\"}"}}`)},
		{Raw: aframe("content_block_stop", `{"type":"content_block_stop","index":1}`)},
		{FinishReason: llm.FinishToolCalls, Usage: &llm.Usage{OutputTokens: 9}, Raw: aframe("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}`)},
		{Done: true, Raw: aframe("message_stop", `{"type":"message_stop"}`)},
	}
}

// streamServer serves /v1/messages: it parses the SDK's request with
// ParseChat and plays events through a StreamWriter, then fail (if not nil)
// as an in-band error, else Finish. The writer is sent on got.
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
		sw.ids = testIDs
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
// the accumulated message and the stream error.
func sdkStream(t *testing.T, url string) (anthropic.Message, []string, error) {
	t.Helper()
	client := anthropic.NewClient(option.WithBaseURL(url), option.WithAPIKey("sk-test"), option.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream := client.Messages.NewStreaming(ctx, anthropic.MessageNewParams{
		Model:     "smart",
		MaxTokens: 100,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather in Paris?"))},
	})
	defer stream.Close()
	var (
		msg   anthropic.Message
		types []string
	)
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		if err := msg.Accumulate(ev); err != nil {
			t.Fatalf("Accumulate %s: %v", ev.Type, err)
		}
	}
	return msg, types, stream.Err()
}

func TestStreamSDK(t *testing.T) {
	type block struct{ Type, Text, ID, Name, Input string }
	tests := []struct {
		name       string
		src        llm.Dialect
		events     []llm.Event
		wantID     string
		wantModel  string
		wantBlocks []block
		wantUsage  llm.Usage
	}{
		{
			name: "anthropic passthrough", src: llm.DialectAnthropic, events: anthropicEvents(),
			wantID: "msg_01", wantModel: "claude-sonnet-4-5",
			wantBlocks: []block{{Type: "text", Text: "Checking"}, {Type: "tool_use", ID: "toolu_01", Name: "get_weather", Input: `{"city": "Paris"}`}},
			wantUsage:  llm.Usage{InputTokens: 25, OutputTokens: 9},
		},
		{
			name: "openai translated", src: llm.DialectOpenAI, events: openAIEvents(),
			wantID: "chatcmpl-abc", wantModel: "gpt-4o-2024-08-06",
			wantBlocks: []block{
				{Type: "text", Text: "Let me check."},
				{Type: "tool_use", ID: "call_1", Name: "get_weather", Input: `{"city":"Paris"}`},
				{Type: "tool_use", ID: "call_2", Name: "get_time", Input: `{}`},
			},
			wantUsage: llm.Usage{InputTokens: 31, OutputTokens: 17},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotSW := make(chan *StreamWriter, 1)
			srv := streamServer(t, tt.src, tt.events, nil, gotSW)
			msg, types, err := sdkStream(t, srv.URL)
			if err != nil {
				t.Fatalf("stream error: got %v, want nil", err)
			}
			sw := <-gotSW
			if msg.ID != tt.wantID || string(msg.Model) != tt.wantModel || msg.StopReason != "tool_use" {
				t.Errorf("got id %q model %q stop %q, want %q %q tool_use", msg.ID, msg.Model, msg.StopReason, tt.wantID, tt.wantModel)
			}
			var got []block
			for _, c := range msg.Content {
				got = append(got, block{Type: c.Type, Text: c.Text, ID: c.ID, Name: c.Name, Input: string(c.Input)})
			}
			if len(got) != len(tt.wantBlocks) {
				t.Fatalf("got blocks %+v, want %+v", got, tt.wantBlocks)
			}
			for i := range got {
				if got[i] != tt.wantBlocks[i] {
					t.Errorf("block %d: got %+v, want %+v", i, got[i], tt.wantBlocks[i])
				}
			}
			if msg.Usage.InputTokens != int64(tt.wantUsage.InputTokens) || msg.Usage.OutputTokens != int64(tt.wantUsage.OutputTokens) {
				t.Errorf("got SDK usage %d/%d, want %+v", msg.Usage.InputTokens, msg.Usage.OutputTokens, tt.wantUsage)
			}
			if types[0] != "message_start" || types[len(types)-1] != "message_stop" {
				t.Errorf("got event types %v, want message_start first and message_stop last", types)
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
		{name: "passthrough", src: llm.DialectAnthropic, events: anthropicEvents()[:4]},
		{name: "translated", src: llm.DialectOpenAI, events: openAIEvents()[:3]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fail := &provider.Error{Kind: provider.KindUnavailable, Err: provider.ErrStreamTruncated}
			srv := streamServer(t, tt.src, tt.events, fail, make(chan *StreamWriter, 1))
			_, types, err := sdkStream(t, srv.URL)
			if err == nil || !strings.Contains(err.Error(), "overloaded_error") {
				t.Fatalf("got stream error %v, want an overloaded_error", err)
			}
			for _, typ := range types {
				if typ == "message_stop" {
					t.Errorf("got message_stop before the error, want none")
				}
			}
		})
	}
}

func TestStreamRawFrames(t *testing.T) {
	tests := []struct {
		name   string
		src    llm.Dialect
		events []llm.Event
		fail   error
		want   string
	}{
		{
			name:   "synthetic done after passthrough writes only message_stop",
			src:    llm.DialectAnthropic,
			events: []llm.Event{{Start: true, Raw: aframe("message_start", `{}`)}, {FinishReason: llm.FinishStop, Raw: aframe("message_delta", `{}`)}, {Done: true}},
			want:   "event: message_start\ndata: {}\n\nevent: message_delta\ndata: {}\n\n" + string(stopFrame),
		},
		{
			name:   "finish completes a translated stream",
			src:    llm.DialectOpenAI,
			events: []llm.Event{{Start: true, Model: "gpt"}, {Text: "hi"}, {FinishReason: llm.FinishLength}},
			want: `event: message_start` + "\n" + `data: {"type":"message_start","message":{"id":"msg_test","type":"message","role":"assistant","model":"gpt","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}}` + "\n\n" +
				`event: content_block_start` + "\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n" +
				`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}` + "\n\n" +
				`event: content_block_stop` + "\n" + `data: {"type":"content_block_stop","index":0}` + "\n\n" +
				`event: message_delta` + "\n" + `data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"input_tokens":0,"output_tokens":0}}` + "\n\n" +
				string(stopFrame),
		},
		{
			name:   "in-band error",
			src:    llm.DialectOpenAI,
			events: []llm.Event{{Start: true, Model: "gpt"}},
			fail:   &provider.Error{Kind: provider.KindTimeout},
			want: `event: message_start` + "\n" + `data: {"type":"message_start","message":{"id":"msg_test","type":"message","role":"assistant","model":"gpt","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}}` + "\n\n" +
				`event: error` + "\n" + `data: {"type":"error","error":{"type":"timeout_error","message":"upstream model did not answer in time"}}` + "\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			sw := NewStreamWriter(rec, &llm.Request{Model: "smart"}, tt.src)
			sw.ids = testIDs
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
			if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" || !rec.Flushed {
				t.Errorf("got content type %q flushed %v, want text/event-stream and flushed", ct, rec.Flushed)
			}
		})
	}
}

func TestStreamErrorBeforeStart(t *testing.T) {
	rec := httptest.NewRecorder()
	sw := NewStreamWriter(rec, &llm.Request{Model: "smart"}, llm.DialectOpenAI)
	sw.WriteError(&provider.Error{Kind: provider.KindUnavailable, Status: 503})
	want := `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`
	if rec.Code != StatusOverloaded || rec.Body.String() != want {
		t.Errorf("got %d %s, want 529 %s", rec.Code, rec.Body.String(), want)
	}
	if !sw.Started() {
		t.Error("got not started after an error response, want started")
	}
}
