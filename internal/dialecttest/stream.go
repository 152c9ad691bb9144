package dialecttest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Frame returns a server-sent event of data alone, as OpenAI frames them.
func Frame(data string) []byte { return []byte("data: " + data + "\n\n") }

// EventFrame returns a named server-sent event, as Anthropic frames them.
func EventFrame(event, data string) []byte {
	return []byte("event: " + event + "\ndata: " + data + "\n\n")
}

// OpenAIStream is a tool-calling OpenAI stream as the OpenAI adapter emits
// it (include_usage forced upstream): text in two deltas, a tool call whose
// arguments arrive in two deltas, a second tool call whole, the finish
// reason, a usage-only chunk and [DONE].
func OpenAIStream() []llm.Event {
	const head = `{"id":"chatcmpl-abc","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-2024-08-06",`
	return []llm.Event{
		{Start: true, ID: "chatcmpl-abc", Model: "gpt-4o-2024-08-06", Raw: Frame(head + `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}`)},
		{Text: "Let me ", Raw: Frame(head + `"choices":[{"index":0,"delta":{"content":"Let me "},"finish_reason":null}],"usage":null}`)},
		{Text: "check.", Raw: Frame(head + `"choices":[{"index":0,"delta":{"content":"check."},"finish_reason":null}],"usage":null}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_1", Name: "get_weather"}}, Raw: Frame(head + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}],"usage":null}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `{"city":`}}, Raw: Frame(head + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}],"usage":null}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `"Paris"}`}}, Raw: Frame(head + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}],"usage":null}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "call_2", Name: "get_time", Arguments: `{}`}}, Raw: Frame(head + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":null}],"usage":null}`)},
		{FinishReason: llm.FinishToolCalls, Raw: Frame(head + `"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null}`)},
		{Usage: &llm.Usage{InputTokens: 31, OutputTokens: 17}, Raw: Frame(head + `"choices":[],"usage":{"prompt_tokens":31,"completion_tokens":17,"total_tokens":48}}`)},
		{Done: true, Raw: []byte("data: [DONE]\n\n")},
	}
}

// AnthropicStream is a tool-calling Anthropic stream as the Anthropic
// adapter emits it: a ping, text in two deltas, then a tool_use block whose
// input arrives in two deltas, with tool deltas indexed by content block.
func AnthropicStream() []llm.Event {
	return []llm.Event{
		{Start: true, ID: "msg_01", Model: "claude-sonnet-4-5", Usage: &llm.Usage{InputTokens: 25}, Raw: EventFrame("message_start", `{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}`)},
		{Raw: EventFrame("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)},
		{Raw: EventFrame("ping", `{"type": "ping"}`)},
		{Text: "Checking", Raw: EventFrame("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking"}}`)},
		{Text: " now.", Raw: EventFrame("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" now."}}`)},
		{Raw: EventFrame("content_block_stop", `{"type":"content_block_stop","index":0}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "toolu_01", Name: "get_weather"}}, Raw: EventFrame("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 1, Arguments: `{"city": "Par`}}, Raw: EventFrame("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Par"}}`)},
		{ToolCalls: []llm.ToolCallDelta{{Index: 1, Arguments: `is"}`}}, Raw: EventFrame("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"is\"}"}}`)},
		{Raw: EventFrame("content_block_stop", `{"type":"content_block_stop","index":1}`)},
		{FinishReason: llm.FinishToolCalls, Usage: &llm.Usage{OutputTokens: 9}, Raw: EventFrame("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}`)},
		{Done: true, Raw: EventFrame("message_stop", `{"type":"message_stop"}`)},
	}
}

// StreamServer starts a server for the dialect's chat endpoint, closed when
// the test ends. It parses each request with ParseChat (answering a bad one
// with WriteErrorFor) and plays events through a new StreamWriter, then
// fail as an in-band error when fail is not nil, else Finish. It sends each
// finished writer on the returned channel, which holds one unread.
func StreamServer(t testing.TB, d Dialect, src llm.Dialect, events []llm.Event, fail error) (*httptest.Server, <-chan StreamWriter) {
	t.Helper()
	got := make(chan StreamWriter, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		req, err := d.ParseChat(body)
		if err != nil {
			d.WriteErrorFor(w, err)
			return
		}
		sw := d.NewStreamWriter(w, req, src)
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
	return srv, got
}

// CheckWriter checks what the gateway reads back from a finished writer:
// it started, with the usage and model the stream reported.
func CheckWriter(t testing.TB, sw StreamWriter, wantUsage llm.Usage, wantModel string) {
	t.Helper()
	if sw.Usage() != wantUsage || sw.Model() != wantModel || !sw.Started() {
		t.Errorf("writer: got usage %+v model %q started %v, want %+v %q true", sw.Usage(), sw.Model(), sw.Started(), wantUsage, wantModel)
	}
}

// FramesCase is what a provider sends and the exact bytes a client must
// get.
type FramesCase struct {
	Name   string
	Src    llm.Dialect // the provider's dialect
	Events []llm.Event
	Fail   error  // written with WriteError after Events when not nil
	Want   string // the exact body, frames joined
}

// StreamFrames writes each case to a new StreamWriter for a request for
// model "smart": its events, its failure if any, then Finish (which must
// add nothing after a terminator or an error). It checks the exact body,
// the text/event-stream content type and that the writer flushed.
func StreamFrames(t *testing.T, d Dialect, cases []FramesCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			sw := d.NewStreamWriter(rec, &llm.Request{Model: "smart"}, tt.Src)
			for _, ev := range tt.Events {
				if err := sw.WriteEvent(ev); err != nil {
					t.Fatalf("WriteEvent: %v", err)
				}
			}
			if tt.Fail != nil {
				sw.WriteError(tt.Fail)
			}
			if err := sw.Finish(); err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if got := rec.Body.String(); got != tt.Want {
				t.Errorf("got body\n%s\nwant\n%s", got, tt.Want)
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

// StreamErrorBeforeStart checks that a StreamWriter fed by a provider
// speaking src is not started before its first write, answers WriteError
// before any byte with c's plain error response (status, Retry-After,
// body), counts as started afterwards, and writes nothing more on Finish.
func StreamErrorBeforeStart(t *testing.T, d Dialect, src llm.Dialect, c ErrorCase) {
	t.Helper()
	rec := httptest.NewRecorder()
	sw := d.NewStreamWriter(rec, &llm.Request{Model: "smart"}, src)
	if sw.Started() {
		t.Fatal("got started before any write, want not started")
	}
	sw.WriteError(c.Err)
	if rec.Code != c.Status || rec.Header().Get("Retry-After") != c.RetryAfter {
		t.Errorf("got status %d retry-after %q, want %d and %q", rec.Code, rec.Header().Get("Retry-After"), c.Status, c.RetryAfter)
	}
	if got := rec.Body.String(); got != c.Body {
		t.Errorf("got body %s, want %s", got, c.Body)
	}
	if !sw.Started() {
		t.Error("got not started after an error response, want started")
	}
	if err := sw.Finish(); err != nil || rec.Body.String() != c.Body {
		t.Errorf("Finish after error wrote more: err %v body %s", err, rec.Body.String())
	}
}
