package openaiapi

import (
	"errors"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

func TestParseResponses(t *testing.T) {
	body := `{"model":"auto","instructions":"Be brief.","stream":true,"max_output_tokens":200,
		"input":[{"role":"developer","content":"dev rules"},
		         {"type":"message","role":"user","content":[{"type":"input_text","text":"What is in "},{"type":"input_image","image_url":"https://x/y.png"},{"type":"input_text","text":"this picture?"}]},
		         {"type":"function_call","call_id":"c1","name":"f","arguments":"{\"a\":1}"},
		         {"type":"function_call_output","call_id":"c1","output":"42"},
		         {"type":"item_reference","id":"msg_1"}],
		"tools":[{"type":"web_search"}],"text":{"format":{"type":"json_schema","name":"x","schema":{}}},
		"metadata":{"team":"search"},"reasoning":{"effort":"high"},"previous_response_id":"resp_0"}`
	req, err := ParseResponses([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if req.Model != "auto" || !req.Stream || req.MaxTokens != 200 || req.Dialect != llm.DialectOpenAIResponses ||
		req.SystemText != "Be brief." || req.LastUserText != "What is in this picture?" || req.NumMessages != 2 ||
		!req.HasImages || !req.HasTools || !req.JSONMode || req.Metadata["team"] != "search" || len(req.Metadata) != 1 ||
		string(req.Raw) != body {
		t.Fatalf("parsed %+v", req)
	}
	if req.TextBytes < len("Be brief.dev rulesWhat is in this picture?") {
		t.Errorf("TextBytes %d counts too little", req.TextBytes)
	}
	if req.RelayOnly != `input items of type "item_reference"` {
		t.Errorf("RelayOnly %q, want the first feature no translation carries", req.RelayOnly)
	}
	// A conversation, by id or as an object, is named for the gateway.
	for _, c := range []string{`"conv_1"`, `{"id":"conv_1"}`} {
		if req, err := ParseResponses([]byte(`{"model":"m","input":"x","conversation":` + c + `}`)); err != nil || req.Conversation != "conv_1" || req.RelayOnly != "conversation" {
			t.Errorf("conversation %s: %+v %v", c, req, err)
		}
	}
	if req, err := ParseResponses([]byte(`{"model":"m","input":"x","conversation":null}`)); err != nil || req.Conversation != "" || req.RelayOnly != "" {
		t.Errorf("conversation null: %+v %v", req, err)
	}
	req, err = ParseResponses([]byte(`{"model":"m","input":"just text"}`))
	if err != nil || req.LastUserText != "just text" || req.NumMessages != 1 || req.Stream {
		t.Errorf("string input: %+v %v", req, err)
	}
}

// A function_call_output given as content parts needs what its parts
// need: vision for an image, a relay for a file or an image by id.
func TestParseResponsesToolOutputParts(t *testing.T) {
	item := func(part string) string {
		return `{"model":"m","input":[{"role":"user","content":"look"},{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},` +
			`{"type":"function_call_output","call_id":"c1","output":[{"type":"input_text","text":"the screenshot:"},` + part + `]}]}`
	}
	for _, tt := range []struct {
		name, part string
		images     bool
		relayOnly  string
	}{
		{"image by data URL", `{"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo="}`, true, ""},
		{"image by file id", `{"type":"input_image","file_id":"file-1"}`, true, "files and images by file_id"},
		{"file", `{"type":"input_file","file_id":"file-1"}`, false, "files and images by file_id"},
		{"text only", `{"type":"input_text","text":"no image"}`, false, ""},
	} {
		req, err := ParseResponses([]byte(item(tt.part)))
		if err != nil || req.HasImages != tt.images || req.RelayOnly != tt.relayOnly {
			t.Errorf("%s: images %v relay-only %q (%v), want %v %q", tt.name, req.HasImages, req.RelayOnly, err, tt.images, tt.relayOnly)
		}
	}
}

func TestParseResponsesRejects(t *testing.T) {
	for _, tt := range []struct{ body, param string }{
		{`{"model":`, ""},
		{`[1]`, ""},
		{`{"input":"x"}`, "model"},
		{`{"model":"","input":"x"}`, "model"},
		{`{"model":"m","input":5}`, "input"},
		{`{"model":"m","input":[1]}`, "input[0]"},
		{`{"model":"m","input":[{"role":"user","content":7}]}`, "input[0].content"},
		{`{"model":"m","input":"x","stream":"yes"}`, "stream"},
		{`{"model":"m","input":"x","max_output_tokens":0}`, "max_output_tokens"},
		{`{"model":"m","input":"x","instructions":3}`, "instructions"},
		{`{"model":"m","input":"x","tools":{}}`, "tools"},
		{`{"model":"m","input":"x","conversation":5}`, "conversation"},
		{`{"model":"m","input":"x","conversation":""}`, "conversation"},
		{`{"model":"m","input":"x","conversation":{"name":"c"}}`, "conversation"},
	} {
		_, err := ParseResponses([]byte(tt.body))
		var bre *BadRequestError
		if !errors.As(err, &bre) || bre.Param != tt.param {
			t.Errorf("%s: got %v, want a bad request on %q", tt.body, err, tt.param)
		}
	}
}

func TestResponsesStreamWriter(t *testing.T) {
	frames := []string{
		"event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0}\n\n",
		"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"delta\":\"Hi\"}\n\n",
	}
	// Relayed verbatim, then an in-band error event the SDKs raise.
	rec := httptest.NewRecorder()
	sw := NewResponsesStreamWriter(rec, &llm.Request{}, llm.DialectOpenAIResponses)
	for _, f := range frames {
		if err := sw.WriteEvent(llm.Event{Raw: []byte(f)}); err != nil {
			t.Fatal(err)
		}
	}
	sw.WriteError(&provider.Error{Kind: provider.KindUnavailable, Message: "upstream said secret things"})
	sw.WriteError(errors.New("a second error is ignored"))
	out := rec.Body.String()
	if !strings.HasPrefix(out, frames[0]+frames[1]) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/event-stream") {
		t.Fatalf("relay: %q", out)
	}
	ev := strings.TrimPrefix(out, frames[0]+frames[1])
	data := strings.TrimSuffix(strings.TrimPrefix(ev, "event: error\ndata: "), "\n\n")
	g := gjson.Parse(data)
	if !strings.HasPrefix(ev, "event: error\ndata: ") || g.Get("type").Str != "error" || g.Get("sequence_number").Int() != 2 ||
		g.Get("code").Str != CodeUpstreamUnavailable || !g.Get("error.message").Exists() || strings.Count(out, "event: error") != 1 {
		t.Errorf("error event: %q", ev)
	}

	// A terminal event ends the stream: Finish adds nothing.
	rec = httptest.NewRecorder()
	sw = NewResponsesStreamWriter(rec, &llm.Request{}, llm.DialectOpenAIResponses)
	_ = sw.WriteEvent(llm.Event{Raw: []byte(frames[0])})
	done := "event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n"
	_ = sw.WriteEvent(llm.Event{Raw: []byte(done), Done: true})
	if err := sw.Finish(); err != nil || rec.Body.String() != frames[0]+done {
		t.Errorf("after the terminal event: %v %q", err, rec.Body.String())
	}

	// Without a terminal event, Finish reports the truncation in-band.
	rec = httptest.NewRecorder()
	sw = NewResponsesStreamWriter(rec, &llm.Request{}, llm.DialectOpenAIResponses)
	_ = sw.WriteEvent(llm.Event{Raw: []byte(frames[0])})
	if err := sw.Finish(); err == nil || !strings.Contains(rec.Body.String(), "event: error") {
		t.Errorf("no terminal event: %v %q", err, rec.Body.String())
	}

	// Before the first byte, a failure is a plain error response.
	rec = httptest.NewRecorder()
	sw = NewResponsesStreamWriter(rec, &llm.Request{}, llm.DialectOpenAIResponses)
	sw.WriteError(&provider.Error{Kind: provider.KindRateLimited})
	if rec.Code != 429 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Errorf("before start: %d %q", rec.Code, rec.Body.String())
	}
}

// TestTranslatedObjectEchoesTheRequest: a response object the gateway
// makes of a translated answer repeats what the request set, as OpenAI's
// do, whole and in every stream event, and the defaults when it set none.
func TestTranslatedObjectEchoesTheRequest(t *testing.T) {
	raw := `{"model":"m","input":"x","instructions":"be brief","max_output_tokens":20,"tool_choice":"required",` +
		`"tools":[{"type":"function","name":"f","parameters":{"type":"object","properties":{}}}],"previous_response_id":"resp_prev",` +
		`"text":{"format":{"type":"json_schema","name":"s","schema":{"type":"object"}}},"metadata":{"k":"v"},"temperature":0.2,"top_p":0.5,` +
		`"parallel_tool_calls":false,"reasoning":{"effort":"low"},"truncation":"auto","user":"u1","store":false}`
	want := map[string]string{
		"instructions": `"be brief"`, "max_output_tokens": `20`, "tool_choice": `"required"`,
		"tools": `[{"type":"function","name":"f","parameters":{"type":"object","properties":{}}}]`, "previous_response_id": `"resp_prev"`,
		"text": `{"format":{"type":"json_schema","name":"s","schema":{"type":"object"}}}`, "metadata": `{"k":"v"}`,
		"temperature": `0.2`, "top_p": `0.5`, "parallel_tool_calls": `false`, "reasoning": `{"effort":"low"}`, "truncation": `"auto"`, "user": `"u1"`,
		"store": `false`,
	}
	defaults := map[string]string{
		"instructions": `null`, "max_output_tokens": `null`, "tool_choice": `"auto"`, "tools": `[]`, "previous_response_id": `null`,
		"text": `{"format":{"type":"text"}}`, "metadata": `{}`, "temperature": `1`, "top_p": `1`, "parallel_tool_calls": `true`,
		"reasoning": `{"effort":null,"summary":null}`, "truncation": `"disabled"`, "store": `true`,
	}
	check := func(what, object string, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if got := gjson.Get(object, k).Raw; got != v {
				t.Errorf("%s: %s = %s, want %s", what, k, got, v)
			}
		}
	}
	// A follow-up the gateway rewrote to carry the conversation of the
	// response it continues no longer names it in its body: the object
	// still does.
	continued := maps.Clone(defaults)
	continued["previous_response_id"] = `"resp_kept"`
	resp := &llm.Response{Model: "claude", Text: "ok", FinishReason: llm.FinishStop}
	for name, tt := range map[string]struct {
		raw, prev string
		want      map[string]string
	}{"set": {raw, "", want}, "unset": {`{"model":"m","input":"x"}`, "", defaults}, "continued": {`{"model":"m","input":"x"}`, "resp_kept", continued}} {
		object, _, err := EncodeTranslatedResponse(&llm.Request{Raw: []byte(tt.raw), PreviousResponseID: tt.prev}, resp)
		if err != nil {
			t.Fatal(err)
		}
		check(name+" object", string(object), tt.want)
		rec := httptest.NewRecorder()
		sw := NewResponsesStreamWriter(rec, &llm.Request{Model: "m", Raw: []byte(tt.raw), PreviousResponseID: tt.prev}, llm.DialectAnthropic)
		for _, ev := range []llm.Event{{Start: true, Model: "claude"}, {Text: "ok"}, {FinishReason: llm.FinishStop}, {Done: true}} {
			if err := sw.WriteEvent(ev); err != nil {
				t.Fatal(err)
			}
		}
		for line := range strings.Lines(rec.Body.String()) {
			if data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok && gjson.Get(data, "response").Exists() {
				check(name+" "+gjson.Get(data, "type").Str, gjson.Get(data, "response").Raw, tt.want)
			}
		}
	}
}

// FuzzParseResponses: any body is a request with a model, or a
// *BadRequestError; never a panic or another error.
func FuzzParseResponses(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","input":"hi"}`,
		`{"model":"m","stream":true,"max_output_tokens":20,"instructions":"x","input":[{"role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_image","image_url":"u"}]},{"type":"function_call_output","call_id":"c","output":"o"}]}`,
		`{"model":"m","tools":[{"type":"function","name":"f"}],"text":{"format":{"type":"json_schema"}},"metadata":{"k":"v"}}`,
		`{}`, `[]`, `"x"`, `{"model":1}`, `{"model":"m","input":[{"content":{}}]}`,
		`{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"reasoning"}],"tool_choice":{"type":"function","name":"f"},"reasoning":{"effort":"low"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseResponses(body)
		if err != nil {
			var bre *BadRequestError
			if !errors.As(err, &bre) {
				t.Fatalf("got error %T %v, want *BadRequestError", err, err)
			}
			return
		}
		if req.Model == "" || req.MaxTokens < 0 || req.Dialect != llm.DialectOpenAIResponses {
			t.Fatalf("accepted %+v", req)
		}
		// A translatable request decodes, or is a bad request too.
		if req.RelayOnly == "" {
			if b, err := req.Body(); err != nil {
				var bre *BadRequestError
				if !errors.As(err, &bre) {
					t.Fatalf("Body: got error %T %v, want *BadRequestError", err, err)
				}
			} else if b == nil {
				t.Fatal("Body: nil body and no error")
			}
		}
	})
}

// keepOrder is a ResponseWriter that notes whether kept was set when the
// terminal event was written.
type keepOrder struct {
	*httptest.ResponseRecorder
	kept, keptFirst bool
}

func (k *keepOrder) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "response.completed") {
		k.keptFirst = k.kept
	}
	return k.ResponseRecorder.Write(p)
}

// TestTranslatedKeptBeforeTheTerminalEvent: a translated stream hands what
// the gateway keeps of it to OnTranslated before its terminal event is
// written, on both ways a stream ends.
func TestTranslatedKeptBeforeTheTerminalEvent(t *testing.T) {
	for _, viaFinish := range []bool{false, true} {
		w := &keepOrder{ResponseRecorder: httptest.NewRecorder()}
		sw := NewResponsesStreamWriter(w, &llm.Request{Model: "m", Raw: []byte(`{"model":"m","input":"x"}`)}, llm.DialectAnthropic)
		var gotID string
		sw.OnTranslated(func(id string, object, history []byte) {
			w.kept, gotID = true, id
			if !strings.Contains(string(object), `"status":"completed"`) || !strings.Contains(string(history), "ok") {
				t.Errorf("kept object %s history %s", object, history)
			}
		})
		events := []llm.Event{{Start: true}, {Text: "ok"}, {FinishReason: llm.FinishStop}}
		if !viaFinish {
			events = append(events, llm.Event{Done: true})
		}
		for _, ev := range events {
			if err := sw.WriteEvent(ev); err != nil {
				t.Fatal(err)
			}
		}
		if viaFinish {
			if err := sw.Finish(); err != nil {
				t.Fatal(err)
			}
		}
		if !w.keptFirst || !strings.HasPrefix(gotID, "resp_") {
			t.Errorf("finish %v: kept %q before the terminal event: %v", viaFinish, gotID, w.keptFirst)
		}
	}
}
