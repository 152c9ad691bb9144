package anthropicapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/switchyard-gw/switchyard/internal/dialecttest"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

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
			name: "anthropic passthrough", src: llm.DialectAnthropic, events: dialecttest.AnthropicStream(),
			wantID: "msg_01", wantModel: "claude-sonnet-4-5",
			wantBlocks: []block{{Type: "text", Text: "Checking now."}, {Type: "tool_use", ID: "toolu_01", Name: "get_weather", Input: `{"city": "Paris"}`}},
			wantUsage:  llm.Usage{InputTokens: 25, OutputTokens: 9},
		},
		{
			name: "openai parallel calls with interleaved deltas", src: llm.DialectOpenAI, events: interleavedTools(),
			wantID: "msg_test", wantModel: "gpt-4o",
			wantBlocks: []block{
				{Type: "tool_use", ID: "call_A", Name: "a", Input: `{"a":1}`},
				{Type: "tool_use", ID: "call_B", Name: "b", Input: `{"b":2}`},
			},
			wantUsage: llm.Usage{InputTokens: 5, OutputTokens: 7},
		},
		{
			name: "openai tool calls finished with stop (Gemini's OpenAI-compatible API)", src: llm.DialectOpenAI, events: toolsFinishedWithStop(),
			wantID: "msg_test", wantModel: "gemini-2.5-flash",
			wantBlocks: []block{
				{Type: "text", Text: "Checking."},
				{Type: "tool_use", ID: "call_A", Name: "a", Input: `{"a":1}`},
			},
			wantUsage: llm.Usage{InputTokens: 5, OutputTokens: 7},
		},
		{
			name: "openai translated", src: llm.DialectOpenAI, events: dialecttest.OpenAIStream(),
			wantID: "msg_test", wantModel: "gpt-4o-2024-08-06",
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
			srv, gotSW := dialecttest.StreamServer(t, dialect, tt.src, tt.events, nil)
			msg, types, err := sdkStream(t, srv.URL)
			if err != nil {
				t.Fatalf("stream error: got %v, want nil", err)
			}
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
			dialecttest.CheckWriter(t, <-gotSW, tt.wantUsage, tt.wantModel)
		})
	}
}

// interleavedTools is an OpenAI stream of two parallel tool calls whose
// argument deltas interleave.
func interleavedTools() []llm.Event {
	call := func(i int, id, name, args string) llm.Event {
		return llm.Event{ToolCalls: []llm.ToolCallDelta{{Index: i, ID: id, Name: name, Arguments: args}}}
	}
	return []llm.Event{
		{Start: true, ID: "chatcmpl-par", Model: "gpt-4o"},
		call(0, "call_A", "a", ""),
		call(1, "call_B", "b", ""),
		call(1, "", "", `{"b":`),
		call(0, "", "", `{"a":1}`),
		call(1, "", "", `2}`),
		{FinishReason: llm.FinishToolCalls},
		{Usage: &llm.Usage{InputTokens: 5, OutputTokens: 7}},
		{Done: true},
	}
}

// TestStreamStopSequence: a translated stream that a stop sequence ended
// reaches the SDK with stop_reason stop_sequence and the sequence, when
// the provider named it.
func TestStreamStopSequence(t *testing.T) {
	for _, seq := range []string{"STOP1", ""} {
		t.Run(strconv.Quote(seq), func(t *testing.T) {
			events := []llm.Event{
				{Start: true, ID: "br-1", Model: "claude"},
				{Text: "one two"},
				{FinishReason: llm.FinishStop, StopSequence: &seq},
				{Usage: &llm.Usage{InputTokens: 5, OutputTokens: 2}, Done: true},
			}
			srv, _ := dialecttest.StreamServer(t, dialect, llm.DialectBedrock, events, nil)
			msg, _, err := sdkStream(t, srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if msg.StopReason != anthropic.StopReasonStopSequence || msg.StopSequence != seq {
				t.Errorf("got stop_reason %q, stop_sequence %q; want stop_sequence, %q", msg.StopReason, msg.StopSequence, seq)
			}
		})
	}
}

// toolsFinishedWithStop is an OpenAI stream of text and a tool call that
// finishes with "stop", as Gemini's OpenAI-compatible API sends one.
func toolsFinishedWithStop() []llm.Event {
	return []llm.Event{
		{Start: true, ID: "chatcmpl-stop", Model: "gemini-2.5-flash"},
		{Text: "Checking."},
		{ToolCalls: []llm.ToolCallDelta{{ID: "call_A", Name: "a", Arguments: `{"a":1}`}}},
		{FinishReason: llm.FinishStop},
		{Usage: &llm.Usage{InputTokens: 5, OutputTokens: 7}},
		{Done: true},
	}
}

// TestStreamBlockOrder: every block's deltas come after its start and
// before its stop, and blocks never overlap, even when parallel tool
// calls' deltas interleave.
func TestStreamBlockOrder(t *testing.T) {
	for name, events := range map[string][]llm.Event{"interleaved": interleavedTools(), "openai": dialecttest.OpenAIStream()} {
		t.Run(name, func(t *testing.T) {
			w := httptest.NewRecorder()
			sw := NewStreamWriter(w, &llm.Request{Model: "m"}, llm.DialectOpenAI)
			for _, ev := range events {
				if err := sw.WriteEvent(ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := sw.Finish(); err != nil {
				t.Fatal(err)
			}
			open := -1
			for line := range strings.Lines(w.Body.String()) {
				data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
				if !ok {
					continue
				}
				var ev struct {
					Type  string
					Index int
				}
				if err := json.Unmarshal([]byte(data), &ev); err != nil {
					t.Fatal(err)
				}
				switch ev.Type {
				case "content_block_start":
					if open != -1 {
						t.Fatalf("block %d starts while %d is open:\n%s", ev.Index, open, w.Body.String())
					}
					open = ev.Index
				case "content_block_delta", "content_block_stop":
					if ev.Index != open {
						t.Fatalf("%s of block %d while %d is open:\n%s", ev.Type, ev.Index, open, w.Body.String())
					}
					if ev.Type == "content_block_stop" {
						open = -1
					}
				}
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
		{name: "passthrough", src: llm.DialectAnthropic, events: dialecttest.AnthropicStream()[:4]},
		{name: "translated", src: llm.DialectOpenAI, events: dialecttest.OpenAIStream()[:3]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fail := &provider.Error{Kind: provider.KindUnavailable, Err: provider.ErrStreamTruncated}
			srv, _ := dialecttest.StreamServer(t, dialect, tt.src, tt.events, fail)
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
	const start = `event: message_start` + "\n" + `data: {"type":"message_start","message":{"id":"msg_test","type":"message","role":"assistant","model":"gpt","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}}` + "\n\n"
	dialecttest.StreamFrames(t, dialect, []dialecttest.FramesCase{
		{
			Name:   "synthetic done after passthrough writes only message_stop",
			Src:    llm.DialectAnthropic,
			Events: []llm.Event{{Start: true, Raw: dialecttest.EventFrame("message_start", `{}`)}, {FinishReason: llm.FinishStop, Raw: dialecttest.EventFrame("message_delta", `{}`)}, {Done: true}},
			Want:   "event: message_start\ndata: {}\n\nevent: message_delta\ndata: {}\n\n" + string(stopFrame),
		},
		{
			Name:   "finish completes a translated stream",
			Src:    llm.DialectOpenAI,
			Events: []llm.Event{{Start: true, Model: "gpt"}, {Text: "hi"}, {FinishReason: llm.FinishLength}},
			Want: start +
				`event: content_block_start` + "\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n" +
				`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}` + "\n\n" +
				`event: content_block_stop` + "\n" + `data: {"type":"content_block_stop","index":0}` + "\n\n" +
				`event: message_delta` + "\n" + `data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}` + "\n\n" +
				string(stopFrame),
		},
		{
			Name:   "in-band error",
			Src:    llm.DialectOpenAI,
			Events: []llm.Event{{Start: true, Model: "gpt"}},
			Fail:   &provider.Error{Kind: provider.KindTimeout},
			Want: start +
				`event: error` + "\n" + `data: {"type":"error","error":{"type":"timeout_error","message":"upstream model did not answer in time"}}` + "\n\n",
		},
	})
}

func TestStreamErrorBeforeStart(t *testing.T) {
	dialecttest.StreamErrorBeforeStart(t, dialect, llm.DialectOpenAI, dialecttest.ErrorCase{
		Err:    &provider.Error{Kind: provider.KindUnavailable, Status: 503},
		Status: StatusOverloaded,
		Body:   `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
	})
}
