package anthropicapi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/dialecttest"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

func TestParseChatFeatures(t *testing.T) {
	tool := `{"name":"f","input_schema":{"type":"object"}}`
	dialecttest.ParseFeatures(t, dialect, []dialecttest.FeaturesCase{
		{
			Name: "minimal",
			Body: `{"model":"claude","max_tokens":256,"messages":[{"role":"user","content":"hello"}]}`,
			Want: dialecttest.Features{Model: "claude", MaxTokens: 256, NumMessages: 1, LastUserText: "hello", TextBytes: 5},
		},
		{
			Name: "system string, stream, metadata",
			Body: `{"model":"c","max_tokens":1,"stream":true,"system":"be brief","metadata":{"user_id":"u1"},"messages":[{"role":"user","content":"hi"}]}`,
			Want: dialecttest.Features{Model: "c", Stream: true, MaxTokens: 1, NumMessages: 1, SystemText: "be brief", LastUserText: "hi", TextBytes: 10, Metadata: map[string]string{"user_id": "u1"}},
		},
		{
			Name: "system blocks, image, tools, tool use and result",
			Body: `{"model":"c","max_tokens":9,"system":[{"type":"text","text":"a"},{"type":"text","text":"b","cache_control":{"type":"ephemeral"}}],
				"tools":[` + tool + `],"messages":[
				{"role":"user","content":[{"type":"text","text":"see "},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]},
				{"role":"assistant","content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"t1","name":"f","input":{"x":1}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"42"},{"type":"text","text":"thanks"}]}]}`,
			Want: dialecttest.Features{Model: "c", MaxTokens: 9, HasImages: true, HasTools: true, NumMessages: 3, SystemText: "a\n\nb",
				LastUserText: "thanks", TextBytes: 4 + len(tool) + 4 + 2 + len(`{"x":1}`) + 2 + 6},
		},
		{
			Name: "image inside tool result",
			Body: `{"model":"c","max_tokens":9,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"chart"},{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}]}`,
			Want: dialecttest.Features{Model: "c", MaxTokens: 9, HasImages: true, NumMessages: 1, TextBytes: 5},
		},
		{
			Name: "json output format",
			Body: `{"model":"c","max_tokens":9,"output_format":{"type":"json_schema","schema":{"type":"object"}},"messages":[{"role":"user","content":"q"}]}`,
			Want: dialecttest.Features{Model: "c", MaxTokens: 9, JSON: true, NumMessages: 1, LastUserText: "q", TextBytes: 1},
		},
	})
}

// TestParseChatRelayOnly: what no translation carries (documents, server
// tools and their results, Files API images) marks the request for
// Anthropic deployments only; what translates does not.
func TestParseChatRelayOnly(t *testing.T) {
	msg := func(content string) string {
		return `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":` + content + `}]}`
	}
	tests := []struct{ name, body, want string }{
		{"text and images", msg(`[{"type":"text","text":"a"},{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]`), ""},
		{"tool round trip", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"r"}]}]}],"tools":[{"name":"f","input_schema":{"type":"object"}},{"type":"custom","name":"g","input_schema":{"type":"object"}}]}`, ""},
		{"document", msg(`[{"type":"text","text":"a"},{"type":"document","source":{"type":"text","media_type":"text/plain","data":"d"}}]`), `content blocks of type "document"`},
		{"server tool", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}`, `tools of type "web_search_20250305"`},
		{"server tool use in history", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"server_tool_use","id":"s1","name":"web_search","input":{"query":"x"}}]}]}`, `content blocks of type "server_tool_use"`},
		{"file image", msg(`[{"type":"image","source":{"type":"file","file_id":"file_1"}}]`), `images with a source of type "file"`},
		{"search result in a tool result", msg(`[{"type":"tool_result","tool_use_id":"t","content":[{"type":"search_result","source":"s","title":"t","content":[]}]}]`), `tool results with blocks of type "search_result"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ParseChat([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if req.RelayOnly != tt.want {
				t.Errorf("got RelayOnly %q, want %q", req.RelayOnly, tt.want)
			}
		})
	}
}

func TestParseChatErrors(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"x"}]`
	dialecttest.ParseErrors(t, dialect, []dialecttest.BadRequestCase{
		{Name: "not json", Body: `{"model"`, Param: ""},
		// JSON text must be UTF-8 (RFC 8259): relayed, the bytes would
		// reach the upstream as sent, translated as U+FFFD (audit AO2).
		{Name: "not UTF-8", Body: "{\"model\":\"m\",\"max_tokens\":9,\"messages\":[{\"role\":\"user\",\"content\":\"caf\xe9\"}]}", Param: ""},
		{Name: "not an object", Body: `1`, Param: ""},
		{Name: "missing model", Body: `{"max_tokens":1,` + msgs + `}`, Param: "model"},
		{Name: "empty model", Body: `{"model":"","max_tokens":1,` + msgs + `}`, Param: "model"},
		{Name: "missing messages", Body: `{"model":"c","max_tokens":1}`, Param: "messages"},
		{Name: "missing max_tokens", Body: `{"model":"c",` + msgs + `}`, Param: "max_tokens"},
		{Name: "max_tokens zero", Body: `{"model":"c","max_tokens":0,` + msgs + `}`, Param: "max_tokens"},
		{Name: "max_tokens string", Body: `{"model":"c","max_tokens":"5",` + msgs + `}`, Param: "max_tokens"},
		{Name: "messages not array", Body: `{"model":"c","max_tokens":1,"messages":"x"}`, Param: "messages"},
		{Name: "empty messages", Body: `{"model":"c","max_tokens":1,"messages":[]}`, Param: "messages"},
		{Name: "message not object", Body: `{"model":"c","max_tokens":1,"messages":[1]}`, Param: "messages.0"},
		{Name: "system role", Body: `{"model":"c","max_tokens":1,"messages":[{"role":"system","content":"x"}]}`, Param: "messages.0.role"},
		{Name: "content missing", Body: `{"model":"c","max_tokens":1,"messages":[{"role":"user"}]}`, Param: "messages.0.content"},
		{Name: "block not object", Body: `{"model":"c","max_tokens":1,"messages":[{"role":"user","content":["x"]}]}`, Param: "messages.0.content.0"},
		{Name: "system number", Body: `{"model":"c","max_tokens":1,"system":3,` + msgs + `}`, Param: "system"},
		{Name: "system non-text block", Body: `{"model":"c","max_tokens":1,"system":[{"type":"image"}],` + msgs + `}`, Param: "system.0"},
		{Name: "stream not bool", Body: `{"model":"c","max_tokens":1,"stream":1,` + msgs + `}`, Param: "stream"},
		{Name: "tools not array", Body: `{"model":"c","max_tokens":1,"tools":{},` + msgs + `}`, Param: "tools"},
		{Name: "metadata not object", Body: `{"model":"c","max_tokens":1,"metadata":"u",` + msgs + `}`, Param: "metadata"},
	})
}

// TestParseRefusesCaseVariants: a top-level key that differs only in case
// from a field the gateway reads ("Model", "STREAM") is a 400 naming it,
// on Messages and count_tokens: an upstream that folds names (Go's
// encoding/json) would read it where the gateway read the exact one, and
// serve another model, stream or limit than the one routed, allowed and
// priced. Exact keys, and keys that match no field but for case, pass.
func TestParseRefusesCaseVariants(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"x"}]`
	tests := []struct {
		name string
		body string
		key  string // the refused key; "" when the body is accepted
		want string // the field it was taken for
	}{
		{"Model", `{"model":"c","Model":"big","max_tokens":1,` + msgs + `}`, "Model", "model"},
		{"Model alone", `{"Model":"big","max_tokens":1,` + msgs + `}`, "Model", "model"},
		{"STREAM", `{"model":"c","max_tokens":1,"STREAM":true,` + msgs + `}`, "STREAM", "stream"},
		{"MAX_TOKENS", `{"model":"c","max_tokens":1,"MAX_TOKENS":64000,` + msgs + `}`, "MAX_TOKENS", "max_tokens"},
		{"System", `{"model":"c","max_tokens":1,"System":"x",` + msgs + `}`, "System", "system"},
		// Go folds the Kelvin sign (U+212A) to k, as encoding/json does.
		{"Kelvin sign", `{"model":"c","max_tokens":1,"max_toKens":64000,` + msgs + `}`, "max_toKens", "max_tokens"},
		{"Thinking", `{"model":"c","max_tokens":1,"Thinking":{"type":"enabled","budget_tokens":1024},` + msgs + `}`, "Thinking", "thinking"},
		{"exact keys", `{"model":"c","max_tokens":1,"stream":true,"thinking":{"type":"disabled"},"top_k":3,"Top_K":3,` + msgs + `}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, parse := range []func([]byte) (*llm.Request, error){ParseChat, ParseCountTokens} {
				_, err := parse([]byte(tt.body))
				if tt.key == "" {
					if err != nil {
						t.Fatalf("got %v, want the body accepted", err)
					}
					continue
				}
				var bre *BadRequestError
				if !errors.As(err, &bre) || bre.Param != tt.key || !strings.Contains(bre.Message, `did you mean "`+tt.want+`"?`) {
					t.Fatalf("got %v, want a bad request naming %q and %q", err, tt.key, tt.want)
				}
			}
		})
	}
}

// TestDecodeSDKRequest decodes a request built by the official SDK.
func TestDecodeSDKRequest(t *testing.T) {
	params := anthropic.MessageNewParams{
		Model:         "smart",
		MaxTokens:     512,
		System:        []anthropic.TextBlockParam{{Text: "be brief"}},
		Temperature:   anthropic.Float(0.5),
		StopSequences: []string{"END"},
		Metadata:      anthropic.MetadataParam{UserID: anthropic.String("user-7")},
		Thinking:      anthropic.ThinkingConfigParamOfEnabled(2048),
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
		t.Errorf("got features %+v, want images, tools, 512, 3 messages, last user \"and?\"", dialecttest.FeaturesOf(req))
	}
	got, err := req.Body()
	if err != nil {
		t.Fatalf("Body: %v", err)
	}
	want := &llm.Body{
		System:      "be brief",
		SystemParts: []llm.Part{{Type: llm.PartText, Text: "be brief"}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "weather?"}, {Type: llm.PartImage, ImageURL: "data:image/png;base64,AAAA"}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "checking"}}, ToolCalls: []llm.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
			{Role: llm.RoleTool, ToolCallID: "toolu_1", IsError: true, Parts: []llm.Part{{Type: llm.PartText, Text: "sunny"}}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "and?"}}},
		},
		Temperature:    new(0.5),
		Stop:           []string{"END"},
		Tools:          []llm.Tool{{Name: "get_weather", Description: "Weather", Parameters: json.RawMessage(`{"properties":{"city":{"type":"string"}},"type":"object"}`)}},
		ToolChoice:     &llm.ToolChoice{Mode: "required"},
		User:           "user-7",
		ThinkingBudget: 2048,
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
	dialecttest.DecodeBody(t, dialect, []dialecttest.DecodeCase{
		{
			Name: "service tiers in canonical terms",
			Body: `{"model":"c","max_tokens":5,"service_tier":"standard_only","messages":[{"role":"user","content":"x"}]}`,
			Check: func(b *llm.Body) string {
				return cmp.Diff("default", b.ServiceTier) + cmp.Diff("auto", ServiceTier("auto")) + cmp.Diff("", ServiceTier("priority"))
			},
		},
		{
			Name: "url image, thinking kept, tool choice tool, output format",
			Body: `{"model":"c","max_tokens":5,"tool_choice":{"type":"tool","name":"f"},"output_format":{"type":"json_schema","schema":{"type":"object"}},"messages":[
				{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://x/i.png"}}]},
				{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"s"},{"type":"redacted_thinking","data":"opaque"},{"type":"text","text":"ok"}]}]}`,
			Check: func(b *llm.Body) string {
				want := []llm.Message{
					{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartImage, ImageURL: "https://x/i.png"}}},
					{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "ok"}},
						Thinking: []llm.Thinking{{Text: "hmm", Signature: "s"}, {Redacted: "opaque"}}},
				}
				return cmp.Diff(want, b.Messages) + cmp.Diff(&llm.ToolChoice{Mode: "tool", Name: "f"}, b.ToolChoice) +
					cmp.Diff(`{"json_schema":{"name":"output","schema":{"type":"object"},"strict":true},"type":"json_schema"}`, string(b.ResponseFormat))
			},
		},
		{
			Name: "cache_control marks: system, a text block, a tool result, a tool",
			Body: `{"model":"c","max_tokens":5,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],
				"tools":[{"name":"g","input_schema":{"type":"object"}},{"name":"f","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],"messages":[
				{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}},{"type":"text","text":"b"}]},
				{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"r","cache_control":{"type":"ephemeral"}}]}]}`,
			Check: func(b *llm.Body) string {
				want := []llm.Message{
					{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "a", CacheMark: true}, {Type: llm.PartText, Text: "b"}}},
					{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t", Name: "f", Arguments: "{}"}}},
					{Role: llm.RoleTool, ToolCallID: "t", Parts: []llm.Part{{Type: llm.PartText, Text: "r"}}, CacheMark: true},
				}
				tools := []llm.Tool{{Name: "g", Parameters: json.RawMessage(`{"type":"object"}`)}, {Name: "f", Parameters: json.RawMessage(`{"type":"object"}`), CacheMark: true}}
				return cmp.Diff(want, b.Messages) + cmp.Diff(true, b.SystemCacheMark) + cmp.Diff(tools, b.Tools)
			},
		},
		{
			Name: "system blocks: joined, and kept apart with their marks",
			Body: `{"model":"c","max_tokens":5,"system":[{"type":"text","text":"static","cache_control":{"type":"ephemeral"}},{"type":"text","text":"dynamic"}],"messages":[{"role":"user","content":"x"}]}`,
			Check: func(b *llm.Body) string {
				parts := []llm.Part{{Type: llm.PartText, Text: "static", CacheMark: true}, {Type: llm.PartText, Text: "dynamic"}}
				return cmp.Diff("static\n\ndynamic", b.System) + cmp.Diff(parts, b.SystemParts) + cmp.Diff(true, b.SystemCacheMark)
			},
		},
		{
			Name: "system string: no parts",
			Body: `{"model":"c","max_tokens":5,"system":"s","messages":[{"role":"user","content":"x"}]}`,
			Check: func(b *llm.Body) string {
				return cmp.Diff("s", b.System) + cmp.Diff([]llm.Part(nil), b.SystemParts)
			},
		},
		{
			Name: "tool result blocks content",
			Body: `{"model":"c","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}]}`,
			Check: func(b *llm.Body) string {
				return cmp.Diff([]llm.Message{{Role: llm.RoleTool, ToolCallID: "t", Parts: []llm.Part{{Type: llm.PartText, Text: "a"}, {Type: llm.PartText, Text: "b"}}}}, b.Messages)
			},
		},
		{Name: "document block", Body: `{"model":"c","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{}}]}]}`, Param: "messages.0.content.0.type"},
		{Name: "server tool", Body: `{"model":"c","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"x"}]}`, Param: "tools.0.type"},
		{Name: "bad tool choice", Body: `{"model":"c","max_tokens":5,"tool_choice":{"type":"tool"},"messages":[{"role":"user","content":"x"}]}`, Param: "tool_choice"},
		{Name: "image without source", Body: `{"model":"c","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image"}]}]}`, Param: "messages.0.content.0"},
	})
}

func FuzzParseChat(f *testing.F) {
	dialecttest.FuzzParseChat(f, dialect, []string{
		`{"model":"claude","max_tokens":256,"messages":[{"role":"user","content":"hello"}]}`,
		`{"model":"c","max_tokens":9,"stream":true,"system":[{"type":"text","text":"a"}],"tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"any"},"messages":[{"role":"user","content":[{"type":"text","text":"see"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA"}}]},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r"}]}]}]}`,
		`{"model":"c","max_tokens":1,"metadata":{"user_id":"u"},"stop_sequences":["x"],"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"t"}]}]}`,
		`{}`, `[]`, `null`, `{"max_tokens":1e400}`,
	})
}
