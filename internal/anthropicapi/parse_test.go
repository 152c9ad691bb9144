package anthropicapi

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// features is the part of llm.Request that ParseChat fills, for comparison.
type features struct {
	Model                     string
	Stream                    bool
	MaxTokens                 int
	HasImages, HasTools, JSON bool
	NumMessages               int
	SystemText, LastUserText  string
	TextBytes                 int
	Metadata                  map[string]string
}

func featuresOf(r *llm.Request) features {
	return features{r.Model, r.Stream, r.MaxTokens, r.HasImages, r.HasTools, r.JSONMode,
		r.NumMessages, r.SystemText, r.LastUserText, r.TextBytes, r.Metadata}
}

func TestParseChatFeatures(t *testing.T) {
	tool := `{"name":"f","input_schema":{"type":"object"}}`
	tests := []struct {
		name string
		body string
		want features
	}{
		{
			name: "minimal",
			body: `{"model":"claude","max_tokens":256,"messages":[{"role":"user","content":"hello"}]}`,
			want: features{Model: "claude", MaxTokens: 256, NumMessages: 1, LastUserText: "hello", TextBytes: 5},
		},
		{
			name: "system string, stream, metadata",
			body: `{"model":"c","max_tokens":1,"stream":true,"system":"be brief","metadata":{"user_id":"u1"},"messages":[{"role":"user","content":"hi"}]}`,
			want: features{Model: "c", Stream: true, MaxTokens: 1, NumMessages: 1, SystemText: "be brief", LastUserText: "hi", TextBytes: 10, Metadata: map[string]string{"user_id": "u1"}},
		},
		{
			name: "system blocks, image, tools, tool use and result",
			body: `{"model":"c","max_tokens":9,"system":[{"type":"text","text":"a"},{"type":"text","text":"b","cache_control":{"type":"ephemeral"}}],
				"tools":[` + tool + `],"messages":[
				{"role":"user","content":[{"type":"text","text":"see "},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]},
				{"role":"assistant","content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"t1","name":"f","input":{"x":1}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"42"},{"type":"text","text":"thanks"}]}]}`,
			want: features{Model: "c", MaxTokens: 9, HasImages: true, HasTools: true, NumMessages: 3, SystemText: "a\n\nb",
				LastUserText: "thanks", TextBytes: 4 + len(tool) + 4 + 2 + len(`{"x":1}`) + 2 + 6},
		},
		{
			name: "image inside tool result",
			body: `{"model":"c","max_tokens":9,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"chart"},{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}]}`,
			want: features{Model: "c", MaxTokens: 9, HasImages: true, NumMessages: 1, TextBytes: 5},
		},
		{
			name: "json output format",
			body: `{"model":"c","max_tokens":9,"output_format":{"type":"json_schema","schema":{"type":"object"}},"messages":[{"role":"user","content":"q"}]}`,
			want: features{Model: "c", MaxTokens: 9, JSON: true, NumMessages: 1, LastUserText: "q", TextBytes: 1},
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
			if req.Dialect != llm.DialectAnthropic || string(req.Raw) != tt.body {
				t.Errorf("got dialect %q raw %d bytes, want anthropic and the body", req.Dialect, len(req.Raw))
			}
		})
	}
}

func TestParseChatErrors(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"x"}]`
	tests := []struct {
		name      string
		body      string
		wantParam string
	}{
		{"not json", `{"model"`, ""},
		{"not an object", `1`, ""},
		{"missing model", `{"max_tokens":1,` + msgs + `}`, "model"},
		{"empty model", `{"model":"","max_tokens":1,` + msgs + `}`, "model"},
		{"missing messages", `{"model":"c","max_tokens":1}`, "messages"},
		{"missing max_tokens", `{"model":"c",` + msgs + `}`, "max_tokens"},
		{"max_tokens zero", `{"model":"c","max_tokens":0,` + msgs + `}`, "max_tokens"},
		{"max_tokens string", `{"model":"c","max_tokens":"5",` + msgs + `}`, "max_tokens"},
		{"messages not array", `{"model":"c","max_tokens":1,"messages":"x"}`, "messages"},
		{"empty messages", `{"model":"c","max_tokens":1,"messages":[]}`, "messages"},
		{"message not object", `{"model":"c","max_tokens":1,"messages":[1]}`, "messages.0"},
		{"system role", `{"model":"c","max_tokens":1,"messages":[{"role":"system","content":"x"}]}`, "messages.0.role"},
		{"content missing", `{"model":"c","max_tokens":1,"messages":[{"role":"user"}]}`, "messages.0.content"},
		{"block not object", `{"model":"c","max_tokens":1,"messages":[{"role":"user","content":["x"]}]}`, "messages.0.content.0"},
		{"system number", `{"model":"c","max_tokens":1,"system":3,` + msgs + `}`, "system"},
		{"system non-text block", `{"model":"c","max_tokens":1,"system":[{"type":"image"}],` + msgs + `}`, "system.0"},
		{"stream not bool", `{"model":"c","max_tokens":1,"stream":1,` + msgs + `}`, "stream"},
		{"tools not array", `{"model":"c","max_tokens":1,"tools":{},` + msgs + `}`, "tools"},
		{"metadata not object", `{"model":"c","max_tokens":1,"metadata":"u",` + msgs + `}`, "metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseChat([]byte(tt.body))
			var bre *BadRequestError
			if !errors.As(err, &bre) {
				t.Fatalf("got error %v, want *BadRequestError", err)
			}
			if bre.Param != tt.wantParam || bre.Message == "" {
				t.Errorf("got param %q message %q, want param %q and a message", bre.Param, bre.Message, tt.wantParam)
			}
		})
	}
}

func f64(v float64) *float64 { return &v }

// TestDecodeSDKRequest decodes a request built by the official SDK.
func TestDecodeSDKRequest(t *testing.T) {
	params := anthropic.MessageNewParams{
		Model:         "smart",
		MaxTokens:     512,
		System:        []anthropic.TextBlockParam{{Text: "be brief"}},
		Temperature:   anthropic.Float(0.5),
		StopSequences: []string{"END"},
		Metadata:      anthropic.MetadataParam{UserID: anthropic.String("user-7")},
		Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name: "get_weather", Description: anthropic.String("Weather"),
			InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}},
		}}},
		ToolChoice: anthropic.ToolChoiceUnionParam{OfAny: &anthropic.ToolChoiceAnyParam{}},
		Messages: []anthropic.MessageParam{
			anthropic.NewUserMessage(anthropic.NewTextBlock("weather?"), anthropic.NewImageBlockBase64("image/png", "AAAA")),
			anthropic.NewAssistantMessage(anthropic.NewTextBlock("checking"), anthropic.NewToolUseBlock("toolu_1", map[string]any{"city": "Paris"}, "get_weather")),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_1", "sunny", true), anthropic.NewTextBlock("and?")),
		},
	}
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatalf("marshal params: %v", err)
	}
	req, err := ParseChat(body)
	if err != nil {
		t.Fatalf("ParseChat: %v", err)
	}
	if !req.HasImages || !req.HasTools || req.MaxTokens != 512 || req.NumMessages != 3 || req.LastUserText != "and?" {
		t.Errorf("got features %+v, want images, tools, 512, 3 messages, last user \"and?\"", featuresOf(req))
	}
	got, err := req.Body()
	if err != nil {
		t.Fatalf("Body: %v", err)
	}
	want := &llm.Body{
		System: "be brief",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "weather?"}, {Type: llm.PartImage, ImageURL: "data:image/png;base64,AAAA"}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "checking"}}, ToolCalls: []llm.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
			{Role: llm.RoleTool, ToolCallID: "toolu_1", IsError: true, Parts: []llm.Part{{Type: llm.PartText, Text: "sunny"}}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "and?"}}},
		},
		Temperature: f64(0.5),
		Stop:        []string{"END"},
		Tools:       []llm.Tool{{Name: "get_weather", Description: "Weather", Parameters: json.RawMessage(`{"properties":{"city":{"type":"string"}},"type":"object"}`)}},
		ToolChoice:  &llm.ToolChoice{Mode: "required"},
		User:        "user-7",
	}
	// Schemas compare as JSON values: key order is the encoder's business.
	opt := cmp.Comparer(func(a, b json.RawMessage) bool {
		if len(a) == 0 || len(b) == 0 {
			return len(a) == len(b)
		}
		var x, y any
		return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && cmp.Equal(x, y)
	})
	if diff := cmp.Diff(want, got, opt); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
}

func TestDecodeFullVariants(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		check     func(*llm.Body) string
		wantParam string
	}{
		{
			name: "url image, thinking dropped, tool choice tool, output format",
			body: `{"model":"c","max_tokens":5,"tool_choice":{"type":"tool","name":"f"},"output_format":{"type":"json_schema","schema":{"type":"object"}},"messages":[
				{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://x/i.png"}}]},
				{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"s"},{"type":"text","text":"ok"}]}]}`,
			check: func(b *llm.Body) string {
				want := []llm.Message{
					{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartImage, ImageURL: "https://x/i.png"}}},
					{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "ok"}}},
				}
				return cmp.Diff(want, b.Messages) + cmp.Diff(&llm.ToolChoice{Mode: "tool", Name: "f"}, b.ToolChoice) +
					cmp.Diff(`{"json_schema":{"name":"output","schema":{"type":"object"},"strict":true},"type":"json_schema"}`, string(b.ResponseFormat))
			},
		},
		{
			name: "tool result blocks content",
			body: `{"model":"c","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}]}`,
			check: func(b *llm.Body) string {
				return cmp.Diff([]llm.Message{{Role: llm.RoleTool, ToolCallID: "t", Parts: []llm.Part{{Type: llm.PartText, Text: "a"}, {Type: llm.PartText, Text: "b"}}}}, b.Messages)
			},
		},
		{name: "document block", body: `{"model":"c","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{}}]}]}`, wantParam: "messages.0.content.0.type"},
		{name: "server tool", body: `{"model":"c","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"x"}]}`, wantParam: "tools.0.type"},
		{name: "bad tool choice", body: `{"model":"c","max_tokens":5,"tool_choice":{"type":"tool"},"messages":[{"role":"user","content":"x"}]}`, wantParam: "tool_choice"},
		{name: "image without source", body: `{"model":"c","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image"}]}]}`, wantParam: "messages.0.content.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ParseChat([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseChat: %v", err)
			}
			b, err := req.Body()
			if tt.wantParam != "" {
				var bre *BadRequestError
				if !errors.As(err, &bre) || bre.Param != tt.wantParam {
					t.Fatalf("got error %v, want *BadRequestError at %q", err, tt.wantParam)
				}
				return
			}
			if err != nil {
				t.Fatalf("Body: %v", err)
			}
			if diff := tt.check(b); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseChat(f *testing.F) {
	for _, s := range []string{
		`{"model":"claude","max_tokens":256,"messages":[{"role":"user","content":"hello"}]}`,
		`{"model":"c","max_tokens":9,"stream":true,"system":[{"type":"text","text":"a"}],"tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"any"},"messages":[{"role":"user","content":[{"type":"text","text":"see"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA"}}]},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r"}]}]}]}`,
		`{"model":"c","max_tokens":1,"metadata":{"user_id":"u"},"stop_sequences":["x"],"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"t"}]}]}`,
		`{}`, `[]`, `null`, `{"max_tokens":1e400}`,
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
		if req.Model == "" || req.NumMessages == 0 || req.MaxTokens < 1 {
			t.Fatalf("accepted request without model, messages or max_tokens: %+v", featuresOf(req))
		}
		if _, err := req.Body(); err != nil {
			var bre *BadRequestError
			if !errors.As(err, &bre) {
				t.Fatalf("decode: got error %T %v, want *BadRequestError", err, err)
			}
		}
	})
}
