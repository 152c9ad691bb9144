package openaiapi

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// features is the part of llm.Request that ParseChat fills, for comparison.
type features struct {
	Model                     string
	Stream, IncludeUsage      bool
	MaxTokens                 int
	HasImages, HasTools, JSON bool
	NumMessages               int
	SystemText, LastUserText  string
	TextBytes                 int
	Metadata                  map[string]string
}

func featuresOf(r *llm.Request) features {
	return features{r.Model, r.Stream, r.IncludeUsage, r.MaxTokens, r.HasImages, r.HasTools, r.JSONMode,
		r.NumMessages, r.SystemText, r.LastUserText, r.TextBytes, r.Metadata}
}

func TestParseChatFeatures(t *testing.T) {
	tests := []struct {
		name string
		body string
		want features
	}{
		{
			name: "minimal",
			body: `{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}`,
			want: features{Model: "gpt-4o", NumMessages: 1, LastUserText: "hello", TextBytes: 5},
		},
		{
			name: "stream with usage and max_tokens",
			body: `{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`,
			want: features{Model: "m", Stream: true, IncludeUsage: true, MaxTokens: 100, NumMessages: 1, LastUserText: "hi", TextBytes: 2},
		},
		{
			name: "max_completion_tokens wins over max_tokens",
			body: `{"max_completion_tokens":50,"model":"m","max_tokens":100,"messages":[{"role":"user","content":"x"}]}`,
			want: features{Model: "m", MaxTokens: 50, NumMessages: 1, LastUserText: "x", TextBytes: 1},
		},
		{
			name: "system, developer, parts, image, last user",
			body: `{"model":"m","messages":[
				{"role":"system","content":"be brief"},
				{"role":"developer","content":[{"type":"text","text":"no lists"}]},
				{"role":"user","content":"first"},
				{"role":"assistant","content":"ok"},
				{"role":"user","content":[{"type":"text","text":"what is "},{"type":"image_url","image_url":{"url":"https://x/y.png"}},{"type":"text","text":"this"}]}]}`,
			want: features{Model: "m", HasImages: true, NumMessages: 5, SystemText: "be brief\n\nno lists",
				LastUserText: "what is this", TextBytes: 8 + 8 + 5 + 2 + 12},
		},
		{
			name: "tools, json mode, metadata, tool calls",
			body: `{"model":"m","tools":[{"type":"function","function":{"name":"f"}}],"response_format":{"type":"json_schema","json_schema":{"name":"x"}},
				"metadata":{"team":"a","n":3},"messages":[{"role":"user","content":"q"},
				{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"c1","content":"42"}]}`,
			want: features{Model: "m", HasTools: true, JSON: true, NumMessages: 3, LastUserText: "q",
				TextBytes: len(`{"type":"function","function":{"name":"f"}}`) + 1 + 2 + 2, Metadata: map[string]string{"team": "a"}},
		},
		{
			name: "json_object mode, empty tools, null fields",
			body: `{"model":"m","tools":[],"response_format":{"type":"json_object"},"stream":null,"max_tokens":null,"messages":[{"role":"user","content":"q"}]}`,
			want: features{Model: "m", JSON: true, NumMessages: 1, LastUserText: "q", TextBytes: 1},
		},
		{
			name: "text response format is not json mode",
			body: `{"model":"m","response_format":{"type":"text"},"messages":[{"role":"user","content":"q"}]}`,
			want: features{Model: "m", NumMessages: 1, LastUserText: "q", TextBytes: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ParseChat([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseChat: got error %v, want nil", err)
			}
			if diff := cmp.Diff(tt.want, featuresOf(req)); diff != "" {
				t.Errorf("features mismatch (-want +got):\n%s", diff)
			}
			if req.Dialect != llm.DialectOpenAI || string(req.Raw) != tt.body {
				t.Errorf("got dialect %q raw %d bytes, want openai and the body", req.Dialect, len(req.Raw))
			}
		})
	}
}

func TestParseChatErrors(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantParam string
	}{
		{"not json", `{"model":`, ""},
		{"not an object", `["model"]`, ""},
		{"missing model", `{"messages":[{"role":"user","content":"x"}]}`, "model"},
		{"empty model", `{"model":"","messages":[{"role":"user","content":"x"}]}`, "model"},
		{"model not string", `{"model":4,"messages":[{"role":"user","content":"x"}]}`, "model"},
		{"missing messages", `{"model":"m"}`, "messages"},
		{"messages not array", `{"model":"m","messages":{}}`, "messages"},
		{"empty messages", `{"model":"m","messages":[]}`, "messages"},
		{"message not object", `{"model":"m","messages":["hi"]}`, "messages[0]"},
		{"missing role", `{"model":"m","messages":[{"content":"x"}]}`, "messages[0].role"},
		{"bad role", `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"robot","content":"x"}]}`, "messages[1].role"},
		{"content number", `{"model":"m","messages":[{"role":"user","content":5}]}`, "messages[0].content"},
		{"part not object", `{"model":"m","messages":[{"role":"user","content":["x"]}]}`, "messages[0].content[0]"},
		{"stream not bool", `{"model":"m","stream":"yes","messages":[{"role":"user","content":"x"}]}`, "stream"},
		{"stream_options not object", `{"model":"m","stream_options":true,"messages":[{"role":"user","content":"x"}]}`, "stream_options"},
		{"include_usage not bool", `{"model":"m","stream_options":{"include_usage":1},"messages":[{"role":"user","content":"x"}]}`, "stream_options.include_usage"},
		{"max_tokens negative", `{"model":"m","max_tokens":-1,"messages":[{"role":"user","content":"x"}]}`, "max_tokens"},
		{"max_tokens fraction", `{"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"x"}]}`, "max_tokens"},
		{"max_completion_tokens string", `{"model":"m","max_completion_tokens":"9","messages":[{"role":"user","content":"x"}]}`, "max_completion_tokens"},
		{"tools not array", `{"model":"m","tools":{},"messages":[{"role":"user","content":"x"}]}`, "tools"},
		{"response_format not object", `{"model":"m","response_format":"json","messages":[{"role":"user","content":"x"}]}`, "response_format"},
		{"metadata not object", `{"model":"m","metadata":[],"messages":[{"role":"user","content":"x"}]}`, "metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseChat([]byte(tt.body))
			var bre *BadRequestError
			if !errors.As(err, &bre) {
				t.Fatalf("got error %v, want *BadRequestError", err)
			}
			if bre.Param != tt.wantParam {
				t.Errorf("got param %q, want %q (message %q)", bre.Param, tt.wantParam, bre.Message)
			}
			if bre.Message == "" {
				t.Error("got empty message, want a reason")
			}
		})
	}
}

func f64(v float64) *float64 { return &v }

func TestDecodeFull(t *testing.T) {
	body := `{"model":"m","temperature":0.2,"top_p":0.9,"stop":"END","user":"u-1",
		"response_format":{"type":"json_object"},
		"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object"}}}],
		"tool_choice":{"type":"function","function":{"name":"get_weather"}},
		"messages":[
		{"role":"system","content":"sys"},
		{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},
		{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":"sunny"},
		{"role":"assistant","content":[{"type":"text","text":"It is sunny."}]}]}`
	req, err := ParseChat([]byte(body))
	if err != nil {
		t.Fatalf("ParseChat: %v", err)
	}
	got, err := req.Body()
	if err != nil {
		t.Fatalf("Body: got error %v, want nil", err)
	}
	want := &llm.Body{
		System: "sys",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "look"}, {Type: llm.PartImage, ImageURL: "data:image/png;base64,AAAA"}}},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
			{Role: llm.RoleTool, ToolCallID: "call_1", Parts: []llm.Part{{Type: llm.PartText, Text: "sunny"}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "It is sunny."}}},
		},
		Temperature:    f64(0.2),
		TopP:           f64(0.9),
		Stop:           []string{"END"},
		Tools:          []llm.Tool{{Name: "get_weather", Description: "Weather", Parameters: []byte(`{"type":"object"}`)}},
		ToolChoice:     &llm.ToolChoice{Mode: "tool", Name: "get_weather"},
		ResponseFormat: []byte(`{"type":"json_object"}`),
		User:           "u-1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
}

func TestDecodeFullVariants(t *testing.T) {
	tests := []struct {
		name      string
		extra     string
		wantStop  []string
		wantTC    *llm.ToolChoice
		wantParam string // non-empty: decoding must fail with this param
	}{
		{name: "stop array", extra: `"stop":["a","b"]`, wantStop: []string{"a", "b"}},
		{name: "tool_choice required", extra: `"tool_choice":"required"`, wantTC: &llm.ToolChoice{Mode: "required"}},
		{name: "tool_choice bad", extra: `"tool_choice":"sometimes"`, wantParam: "tool_choice"},
		{name: "stop bad", extra: `"stop":5`, wantParam: "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ParseChat([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],` + tt.extra + `}`))
			if err != nil {
				t.Fatalf("ParseChat: %v", err)
			}
			b, err := req.Body()
			if tt.wantParam != "" {
				var bre *BadRequestError
				if !errors.As(err, &bre) || bre.Param != tt.wantParam {
					t.Fatalf("got error %v, want *BadRequestError for %q", err, tt.wantParam)
				}
				return
			}
			if err != nil {
				t.Fatalf("Body: %v", err)
			}
			if diff := cmp.Diff(tt.wantStop, b.Stop); diff != "" {
				t.Errorf("stop (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantTC, b.ToolChoice); diff != "" {
				t.Errorf("tool choice (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeFullRejectsAudio(t *testing.T) {
	req, err := ParseChat([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}]}`))
	if err != nil {
		t.Fatalf("ParseChat: %v (audio must pass the lean parse for same-dialect passthrough)", err)
	}
	_, err = req.Body()
	var bre *BadRequestError
	if !errors.As(err, &bre) || bre.Param != "messages[0].content[0].type" {
		t.Fatalf("got %v, want *BadRequestError at messages[0].content[0].type", err)
	}
}

func TestParseEmbeddings(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantBytes int
		wantParam string
	}{
		{name: "string", body: `{"model":"e","input":"hello"}`, wantBytes: 5},
		{name: "strings", body: `{"model":"e","input":["ab","cde"]}`, wantBytes: 5},
		{name: "tokens", body: `{"model":"e","input":[1,2,3]}`, wantBytes: 12},
		{name: "token arrays", body: `{"model":"e","input":[[1,2],[3]]}`, wantBytes: 12},
		{name: "missing model", body: `{"input":"x"}`, wantParam: "model"},
		{name: "missing input", body: `{"model":"e"}`, wantParam: "input"},
		{name: "empty input", body: `{"model":"e","input":""}`, wantParam: "input"},
		{name: "empty array", body: `{"model":"e","input":[]}`, wantParam: "input"},
		{name: "object input", body: `{"model":"e","input":{"a":1}}`, wantParam: "input"},
		{name: "mixed nested", body: `{"model":"e","input":[[1,"x"]]}`, wantParam: "input"},
		{name: "not json", body: `nope`, wantParam: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEmbeddings([]byte(tt.body))
			if tt.wantParam != "" || tt.name == "not json" {
				var bre *BadRequestError
				if !errors.As(err, &bre) || bre.Param != tt.wantParam {
					t.Fatalf("got %v, want *BadRequestError with param %q", err, tt.wantParam)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got.Model != "e" || got.InputBytes != tt.wantBytes || string(got.Raw) != tt.body {
				t.Errorf("got model %q bytes %d, want e and %d", got.Model, got.InputBytes, tt.wantBytes)
			}
		})
	}
}

func FuzzParseChat(f *testing.F) {
	for _, s := range []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}`,
		`{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":10,"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}}]}]}`,
		`{"model":"m","tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":"auto","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"r"}]}`,
		`{"model":"m","stop":["x"],"response_format":{"type":"json_object"},"metadata":{"a":"b"},"messages":[{"role":"user","content":"x"}]}`,
		`{}`, `[]`, `"x"`, `{"model":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseChat(body)
		if err != nil {
			var bre *BadRequestError
			if !errors.As(err, &bre) {
				t.Fatalf("got error %T %v, want *BadRequestError", err, err)
			}
			return
		}
		if req.Model == "" || req.NumMessages == 0 {
			t.Fatalf("accepted request without model or messages: %+v", req)
		}
		if _, err := req.Body(); err != nil {
			var bre *BadRequestError
			if !errors.As(err, &bre) {
				t.Fatalf("decode: got error %T %v, want *BadRequestError", err, err)
			}
		}
	})
}
