package openaiapi

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3/responses"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/sse"
)

func TestResponsesDecodeForTranslation(t *testing.T) {
	body := `{"model":"claude","instructions":"Be brief.","temperature":0.5,"top_p":0.9,"user":"u1",
		"input":[{"role":"developer","content":"dev rules"},
		         {"type":"message","role":"user","content":[{"type":"input_text","text":"What is in "},{"type":"input_image","image_url":"https://x/y.png"}]},
		         {"type":"reasoning","id":"rs_1","summary":[]},
		         {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Let me look."}]},
		         {"type":"function_call","call_id":"c1","name":"f","arguments":"{\"a\":1}"},
		         {"type":"function_call","call_id":"c2","name":"g","arguments":"{}"},
		         {"type":"function_call_output","call_id":"c1","output":"42"},
		         {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"ok"}]}],
		"tools":[{"type":"function","name":"f","description":"does f","parameters":{"type":"object"}},{"type":"function","name":"g"}],
		"tool_choice":{"type":"function","name":"f"},
		"text":{"format":{"type":"json_schema","name":"answer","schema":{"type":"object"},"strict":true}},
		"reasoning":{"effort":"low"},"store":true,"include":["reasoning.encrypted_content"],"service_tier":"flex"}`
	req, err := ParseResponses([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if req.RelayOnly != "" {
		t.Fatalf("RelayOnly %q, want a translatable request", req.RelayOnly)
	}
	b, err := req.Body()
	if err != nil {
		t.Fatal(err)
	}
	half, nine := 0.5, 0.9
	text := func(s string) []llm.Part { return []llm.Part{{Type: llm.PartText, Text: s}} }
	want := &llm.Body{
		System: "Be brief.\n\ndev rules",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "What is in "}, {Type: llm.PartImage, ImageURL: "https://x/y.png"}}},
			{Role: llm.RoleAssistant, Parts: text("Let me look."), ToolCalls: []llm.ToolCall{{ID: "c1", Name: "f", Arguments: `{"a":1}`}, {ID: "c2", Name: "g", Arguments: "{}"}}},
			{Role: llm.RoleTool, Parts: text("42"), ToolCallID: "c1"},
			{Role: llm.RoleTool, Parts: text("ok"), ToolCallID: "c2"},
		},
		Temperature: &half, TopP: &nine, User: "u1", ReasoningEffort: "low", ServiceTier: "flex",
		Tools:          []llm.Tool{{Name: "f", Description: "does f", Parameters: json.RawMessage(`{"type":"object"}`)}, {Name: "g"}},
		ToolChoice:     &llm.ToolChoice{Mode: "tool", Name: "f"},
		ResponseFormat: json.RawMessage(`{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object"},"strict":true}}`),
	}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

// TestResponsesRelayOnly: each feature that needs the upstream's own
// Responses API is named, so the gateway sends the request only there.
func TestResponsesRelayOnly(t *testing.T) {
	for _, tt := range []struct{ extra, want string }{
		{`"previous_response_id":"resp_1"`, "previous_response_id"},
		{`"tools":[{"type":"function","name":"f"},{"type":"web_search"}]`, `tools of type "web_search"`},
		{`"tool_choice":{"type":"file_search"}`, `tool_choice of type "file_search"`},
		{`"background":true`, "background"},
		{`"conversation":"conv_1"`, "conversation"},
		{`"prompt":{"id":"pmpt_1"}`, "prompt"},
		{`"input":[{"type":"item_reference","id":"msg_1"}]`, `input items of type "item_reference"`},
		{`"input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]`, "files and images by file_id"},
		{`"input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]`, "files and images by file_id"},
		{`"background":false,"tools":[{"type":"function","name":"f"}]`, ""},
	} {
		req, err := ParseResponses([]byte(`{"model":"m",` + tt.extra + `}`))
		if err != nil || req.RelayOnly != tt.want {
			t.Errorf("%s: RelayOnly %q (%v), want %q", tt.extra, req.RelayOnly, err, tt.want)
		}
	}
	for _, tt := range []struct{ body, param string }{
		{`{"model":"m","input":[{"role":"tool","content":"x"}]}`, "input[0].role"},
		{`{"model":"m","input":"x","tool_choice":"sometimes"}`, "tool_choice"},
		{`{"model":"m","input":"x","text":{"format":{"type":"yaml"}}}`, "text.format.type"},
	} {
		req, err := ParseResponses([]byte(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		_, err = req.Body()
		var bre *BadRequestError
		if !errors.As(err, &bre) || bre.Param != tt.param {
			t.Errorf("%s: Body() = %v, want a bad request on %q", tt.body, err, tt.param)
		}
	}
}

func TestWriteResponsesTranslated(t *testing.T) {
	for _, tt := range []struct {
		name       string
		resp       llm.Response
		status     string
		incomplete string
		outputText string
		calls      int
	}{
		{"text", llm.Response{Model: "claude-x", Text: "Hello <there> & you", FinishReason: llm.FinishStop, Dialect: llm.DialectAnthropic}, "completed", "", "Hello <there> & you", 0},
		{"cut by max_output_tokens", llm.Response{Model: "claude-x", Text: "Hel", FinishReason: llm.FinishLength}, "incomplete", "max_output_tokens", "Hel", 0},
		{"function calls", llm.Response{Model: "claude-x", Text: "Checking.", FinishReason: llm.FinishToolCalls,
			ToolCalls: []llm.ToolCall{{ID: "toolu_1", Name: "f", Arguments: `{"a":1}`}, {Name: "g", Arguments: "{}"}}}, "completed", "", "Checking.", 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.resp.Usage = llm.Usage{InputTokens: 50, CachedInputTokens: 20, OutputTokens: 7}
			rec := httptest.NewRecorder()
			if err := testSource().writeResponsesResponse(rec, &tt.resp); err != nil {
				t.Fatal(err)
			}
			var r responses.Response
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
				t.Fatalf("SDK decode: %v\n%s", err, rec.Body.String())
			}
			if r.ID != "resp_test" || r.Object != "response" || string(r.Status) != tt.status || r.Model != "claude-x" || r.CreatedAt != 1700000000 {
				t.Errorf("response %s", rec.Body.String())
			}
			if r.IncompleteDetails.Reason != tt.incomplete || r.OutputText() != tt.outputText {
				t.Errorf("incomplete %q output_text %q, want %q %q", r.IncompleteDetails.Reason, r.OutputText(), tt.incomplete, tt.outputText)
			}
			if u := r.Usage; u.InputTokens != 50 || u.InputTokensDetails.CachedTokens != 20 || u.OutputTokens != 7 || u.TotalTokens != 57 {
				t.Errorf("usage %+v", u)
			}
			var calls []responses.ResponseFunctionToolCall
			for _, item := range r.Output {
				if item.Type == "function_call" {
					calls = append(calls, item.AsFunctionCall())
				}
			}
			if len(calls) != tt.calls {
				t.Fatalf("function calls %+v, want %d", calls, tt.calls)
			}
			if tt.calls > 0 && (calls[0].CallID != "toolu_1" || calls[0].Name != "f" || calls[0].Arguments != `{"a":1}` || calls[1].CallID != "call_test") {
				t.Errorf("function calls %+v", calls)
			}
		})
	}
	// A relayed answer is written verbatim.
	rec := httptest.NewRecorder()
	raw := `{"id":"resp_up","object":"response","future":1}`
	if err := testSource().writeResponsesResponse(rec, &llm.Response{Dialect: llm.DialectOpenAIResponses, Raw: []byte(raw)}); err != nil || rec.Body.String() != raw {
		t.Errorf("relayed: %v %q", err, rec.Body.String())
	}
}

// streamEvents parses SSE frames into the SDK's event union.
func streamEvents(t *testing.T, body string) []responses.ResponseStreamEventUnion {
	t.Helper()
	r := sse.NewReader(strings.NewReader(body))
	var evs []responses.ResponseStreamEventUnion
	for {
		f, err := r.Next()
		if err != nil {
			break
		}
		var ev responses.ResponseStreamEventUnion
		if err := json.Unmarshal([]byte(f.Data), &ev); err != nil {
			t.Fatalf("event %q: %v", f.Data, err)
		}
		if ev.Type != f.Event {
			t.Errorf("event line %q, data type %q", f.Event, ev.Type)
		}
		evs = append(evs, ev)
	}
	return evs
}

func TestResponsesStreamTranslated(t *testing.T) {
	newWriter := func() (*httptest.ResponseRecorder, *ResponsesStreamWriter) {
		rec := httptest.NewRecorder()
		sw := NewResponsesStreamWriter(rec, &llm.Request{Model: "claude"}, llm.DialectAnthropic)
		sw.enc.gen = testSource()
		return rec, sw
	}
	rec, sw := newWriter()
	for _, ev := range []llm.Event{
		{Start: true, Model: "claude-x", Usage: &llm.Usage{InputTokens: 40, CachedInputTokens: 30}},
		{Text: "Let me "}, {Text: "check."},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "toolu_1", Name: "get_weather"}}},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `{"city":`}}},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `"Paris"}`}}},
		{FinishReason: llm.FinishToolCalls, Usage: &llm.Usage{OutputTokens: 12}},
	} {
		if err := sw.WriteEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Finish(); err != nil {
		t.Fatal(err)
	}
	evs := streamEvents(t, rec.Body.String())
	var types []string
	for i, ev := range evs {
		types = append(types, ev.Type)
		if ev.SequenceNumber != int64(i) {
			t.Errorf("event %d (%s): sequence_number %d", i, ev.Type, ev.SequenceNumber)
		}
	}
	wantTypes := []string{"response.created", "response.in_progress",
		"response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.output_item.done",
		"response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
		"response.function_call_arguments.done", "response.output_item.done", "response.completed"}
	if diff := cmp.Diff(wantTypes, types); diff != "" {
		t.Fatalf("event types (-want +got):\n%s", diff)
	}
	if d := evs[6].AsResponseOutputTextDone(); d.Text != "Let me check." || d.OutputIndex != 0 {
		t.Errorf("output_text.done %+v", d)
	}
	if d := evs[12].AsResponseFunctionCallArgumentsDone(); d.Arguments != `{"city":"Paris"}` || d.OutputIndex != 1 {
		t.Errorf("function_call_arguments.done %+v", d)
	}
	final := evs[len(evs)-1].AsResponseCompleted().Response
	if final.Status != "completed" || final.Model != "claude-x" || final.OutputText() != "Let me check." || len(final.Output) != 2 ||
		final.Output[1].AsFunctionCall().CallID != "toolu_1" || final.Output[1].AsFunctionCall().Arguments != `{"city":"Paris"}` {
		t.Errorf("final response %+v", final)
	}
	if u := final.Usage; u.InputTokens != 40 || u.InputTokensDetails.CachedTokens != 30 || u.OutputTokens != 12 {
		t.Errorf("final usage %+v", u)
	}
	if created := evs[0].AsResponseCreated().Response; created.ID != final.ID || created.Status != "in_progress" {
		t.Errorf("created %+v, final id %s", created, final.ID)
	}

	// Cut by max_output_tokens: response.incomplete.
	rec, sw = newWriter()
	_ = sw.WriteEvent(llm.Event{Text: "Hel"})
	_ = sw.WriteEvent(llm.Event{FinishReason: llm.FinishLength, Done: true})
	_ = sw.Finish()
	evs = streamEvents(t, rec.Body.String())
	last := evs[len(evs)-1]
	if last.Type != "response.incomplete" || last.AsResponseIncomplete().Response.IncompleteDetails.Reason != "max_output_tokens" ||
		strings.Count(rec.Body.String(), "response.incomplete") != 2 { // event line and data
		t.Errorf("cut stream ends with %s: %s", last.Type, rec.Body.String())
	}

	// A failure after the first byte is an in-band error, not a completion.
	rec, sw = newWriter()
	_ = sw.WriteEvent(llm.Event{Text: "Hel"})
	sw.WriteError(&provider.Error{Kind: provider.KindUnavailable, Message: "cut"})
	_ = sw.Finish()
	if out := rec.Body.String(); !strings.Contains(out, "event: error") || strings.Contains(out, "response.completed") {
		t.Errorf("failed stream: %s", out)
	}
}
