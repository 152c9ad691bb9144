package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

// text is a text part.
func text(s string) llm.Part { return llm.Part{Type: llm.PartText, Text: s} }

// image is an image part of URL u.
func image(u string) llm.Part { return llm.Part{Type: llm.PartImage, ImageURL: u} }

// user is a user message of parts.
func user(parts ...llm.Part) llm.Message { return llm.Message{Role: llm.RoleUser, Parts: parts} }

// hi is a conversation of one user message, and its Converse form.
var (
	hiMessages = []llm.Message{user(text("hi"))}
	hiJSON     = `"messages":[{"role":"user","content":[{"text":"hi"}]}]`
)

// TestTranslate: canonical bodies, each with the Converse body that must
// reach the upstream, exactly.
func TestTranslate(t *testing.T) {
	weather := llm.Tool{Name: "lookup", Description: "look up", Parameters: json.RawMessage(`{"type":"object","properties":{"q":{"type":"string"}}}`)}
	weatherJSON := `{"toolSpec":{"name":"lookup","description":"look up","inputSchema":{"json":{"type":"object","properties":{"q":{"type":"string"}}}}}}`
	for _, tt := range []struct {
		name      string
		cfg       func(*provider.Config)
		maxTokens int
		body      llm.Body
		want      string
	}{
		{
			name: "conversation: system, images, tool calls and their results merged",
			body: llm.Body{
				System: "be brief",
				Messages: []llm.Message{
					{Role: llm.RoleSystem, Parts: []llm.Part{text("use metric")}},
					user(text("what is this?"), text(""), image("data:image/png;base64,iVBORw0KGgo="), image("data:image/jpg;base64,/9j/4AAQ")),
					{Role: llm.RoleAssistant, Parts: []llm.Part{text("Let me look.")},
						ToolCalls: []llm.ToolCall{{ID: "t1", Name: "lookup", Arguments: `{"q": "x"}`}, {ID: "t2", Name: "now"}}},
					{Role: llm.RoleTool, ToolCallID: "t1", Parts: []llm.Part{text("a cat")}},
					{Role: llm.RoleTool, ToolCallID: "t2", IsError: true, Parts: []llm.Part{text("clock broken")}},
					user(text("thanks")),
					{Role: llm.RoleAssistant, Parts: []llm.Part{text("You're welcome.")}},
					user(text("bye")),
				},
				Temperature:     new(0.3),
				TopP:            new(0.8),
				Stop:            []string{"END"},
				Tools:           []llm.Tool{weather, {Name: "now"}},
				ToolChoice:      &llm.ToolChoice{Mode: "required"},
				NoParallelTools: true,
				User:            "u-1",
			},
			maxTokens: 300,
			want: `{
				"messages":[
					{"role":"user","content":[
						{"text":"what is this?"},
						{"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}},
						{"image":{"format":"jpeg","source":{"bytes":"/9j/4AAQ"}}}]},
					{"role":"assistant","content":[
						{"text":"Let me look."},
						{"toolUse":{"toolUseId":"t1","name":"lookup","input":{"q":"x"}}},
						{"toolUse":{"toolUseId":"t2","name":"now","input":{}}}]},
					{"role":"user","content":[
						{"toolResult":{"toolUseId":"t1","content":[{"text":"a cat"}]}},
						{"toolResult":{"toolUseId":"t2","content":[{"text":"clock broken"}],"status":"error"}},
						{"text":"thanks"}]},
					{"role":"assistant","content":[{"text":"You're welcome."}]},
					{"role":"user","content":[{"text":"bye"}]}
				],
				"system":[{"text":"be brief\n\nuse metric"}],
				"inferenceConfig":{"maxTokens":300,"temperature":0.3,"topP":0.8,"stopSequences":["END"]},
				"additionalModelResponseFieldPaths":["/stop_sequence"],
				"toolConfig":{
					"tools":[` + weatherJSON + `,{"toolSpec":{"name":"now","inputSchema":{"json":{"type":"object"}}}}],
					"toolChoice":{"any":{}}}}`,
		},
		{
			name: "thinking sent back goes first, as it came; an empty tool result",
			body: llm.Body{Messages: []llm.Message{
				user(text("hi")),
				{Role: llm.RoleAssistant, Parts: []llm.Part{text("Calling.")},
					Thinking:  []llm.Thinking{{Text: "Think.", Signature: "sig"}, {Redacted: "b3BhcXVl"}, {Text: "Unsigned."}},
					ToolCalls: []llm.ToolCall{{ID: "t1", Name: "f", Arguments: "{}"}}},
				{Role: llm.RoleTool, ToolCallID: "t1"},
			}, Tools: []llm.Tool{{Name: "f"}}},
			want: `{"messages":[
				{"role":"user","content":[{"text":"hi"}]},
				{"role":"assistant","content":[
					{"reasoningContent":{"reasoningText":{"text":"Think.","signature":"sig"}}},
					{"reasoningContent":{"redactedContent":"b3BhcXVl"}},
					{"reasoningContent":{"reasoningText":{"text":"Unsigned."}}},
					{"text":"Calling."},
					{"toolUse":{"toolUseId":"t1","name":"f","input":{}}}]},
				{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[]}}]}],
				"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}}]}}`,
		},
		{
			name: "tool choice auto",
			body: llm.Body{Messages: hiMessages, Tools: []llm.Tool{weather}, ToolChoice: &llm.ToolChoice{Mode: "auto"}},
			want: `{` + hiJSON + `,"toolConfig":{"tools":[` + weatherJSON + `],"toolChoice":{"auto":{}}}}`,
		},
		{
			name: "a tool marked for the cache: a cache point after it",
			body: llm.Body{Messages: hiMessages, Tools: []llm.Tool{{Name: "now"}, {Name: "lookup", Description: "look up", Parameters: weather.Parameters, CacheMark: true}}},
			want: `{` + hiJSON + `,"toolConfig":{"tools":[{"toolSpec":{"name":"now","inputSchema":{"json":{"type":"object"}}}},` + weatherJSON + `,{"cachePoint":{"type":"default"}}]}}`,
		},
		{
			name: "tool choice naming a tool",
			body: llm.Body{Messages: hiMessages, Tools: []llm.Tool{weather}, ToolChoice: &llm.ToolChoice{Mode: "tool", Name: "lookup"}},
			want: `{` + hiJSON + `,"toolConfig":{"tools":[` + weatherJSON + `],"toolChoice":{"tool":{"name":"lookup"}}}}`,
		},
		{
			name: "tool choice none sends no tools",
			body: llm.Body{Messages: hiMessages, Tools: []llm.Tool{weather}, ToolChoice: &llm.ToolChoice{Mode: "none"}},
			want: `{` + hiJSON + `}`,
		},
		{
			name: "tool choice none in a tool loop offers the tools with no choice (Converse wants a toolConfig there)",
			body: llm.Body{Messages: []llm.Message{
				user(text("hi")),
				{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t1", Name: "lookup", Arguments: "{}"}}},
				{Role: llm.RoleTool, ToolCallID: "t1", Parts: []llm.Part{text("ok")}},
			}, Tools: []llm.Tool{weather}, ToolChoice: &llm.ToolChoice{Mode: "none"}},
			want: `{"messages":[{"role":"user","content":[{"text":"hi"}]},
				{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"lookup","input":{}}}]},
				{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"ok"}]}}]}],
				"toolConfig":{"tools":[` + weatherJSON + `]}}`,
		},
		{
			name: "tool calls in the history and no tools: the tools called are declared, each once, with no choice (Converse wants a toolConfig there)",
			body: llm.Body{Messages: []llm.Message{
				user(text("hi")),
				{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t1", Name: "lookup", Arguments: "{}"}, {ID: "t2", Name: "now"}}},
				{Role: llm.RoleTool, ToolCallID: "t1", Parts: []llm.Part{text("ok")}},
				{Role: llm.RoleTool, ToolCallID: "t2", Parts: []llm.Part{text("noon")}},
				{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t3", Name: "lookup", Arguments: "{}"}}},
				{Role: llm.RoleTool, ToolCallID: "t3", Parts: []llm.Part{text("ok")}},
				user(text("sum up")),
			}},
			want: `{"messages":[{"role":"user","content":[{"text":"hi"}]},
				{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"lookup","input":{}}},{"toolUse":{"toolUseId":"t2","name":"now","input":{}}}]},
				{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"ok"}]}},{"toolResult":{"toolUseId":"t2","content":[{"text":"noon"}]}}]},
				{"role":"assistant","content":[{"toolUse":{"toolUseId":"t3","name":"lookup","input":{}}}]},
				{"role":"user","content":[{"toolResult":{"toolUseId":"t3","content":[{"text":"ok"}]}},{"text":"sum up"}]}],
				"toolConfig":{"tools":[
					{"toolSpec":{"name":"lookup","description":"` + historyToolDescription + `","inputSchema":{"json":{"type":"object"}}}},
					{"toolSpec":{"name":"now","description":"` + historyToolDescription + `","inputSchema":{"json":{"type":"object"}}}}]}}`,
		},
		{
			name: "tool calls in the history and tools: the client's tools only",
			body: llm.Body{Messages: []llm.Message{
				user(text("hi")),
				{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t1", Name: "now", Arguments: "{}"}}},
				{Role: llm.RoleTool, ToolCallID: "t1", Parts: []llm.Part{text("noon")}},
			}, Tools: []llm.Tool{weather}},
			want: `{"messages":[{"role":"user","content":[{"text":"hi"}]},
				{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"now","input":{}}}]},
				{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"noon"}]}}]}],
				"toolConfig":{"tools":[` + weatherJSON + `]}}`,
		},
		{
			name: "an Anthropic client's cache marks: cache points after the system prompt, a marked part and a marked tool result",
			body: llm.Body{System: "be brief", SystemCacheMark: true, Messages: []llm.Message{
				user(llm.Part{Type: llm.PartText, Text: "long context", CacheMark: true}, text("question")),
				{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t1", Name: "f", Arguments: "{}"}}},
				{Role: llm.RoleTool, ToolCallID: "t1", Parts: []llm.Part{{Type: llm.PartText, Text: "ok", CacheMark: true}}, CacheMark: true},
			}, Tools: []llm.Tool{{Name: "f"}}},
			want: `{"messages":[
				{"role":"user","content":[{"text":"long context"},{"cachePoint":{"type":"default"}},{"text":"question"}]},
				{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"f","input":{}}}]},
				{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"ok"}]}},{"cachePoint":{"type":"default"}}]}],
				"system":[{"text":"be brief"},{"cachePoint":{"type":"default"}}],
				"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}}]}}`,
		},
		{
			name: "an Anthropic client's system blocks: a cache point after each marked one, not after the whole",
			body: llm.Body{System: "static\n\nmore static\n\ndynamic", SystemCacheMark: true, SystemParts: []llm.Part{
				text("static"), {Type: llm.PartText, Text: "more static", CacheMark: true}, text(""), text("dynamic"),
			}, Messages: hiMessages},
			want: `{` + hiJSON + `,"system":[{"text":"static\n\nmore static"},{"cachePoint":{"type":"default"}},{"text":"dynamic"}]}`,
		},
		{
			name: "system blocks marked first and last, with prompt_cache system: no cache point twice",
			cfg:  func(c *provider.Config) { c.CacheSystemPrompt = true },
			body: llm.Body{System: "a\n\nb", SystemCacheMark: true, SystemParts: []llm.Part{
				{Type: llm.PartText, Text: "a", CacheMark: true}, {Type: llm.PartText, Text: "b", CacheMark: true},
			}, Messages: hiMessages},
			want: `{` + hiJSON + `,"system":[{"text":"a"},{"cachePoint":{"type":"default"}},{"text":"b"},{"cachePoint":{"type":"default"}}]}`,
		},
		{
			name: "system blocks without marks: one text; prompt_cache system: a cache point after it",
			cfg:  func(c *provider.Config) { c.CacheSystemPrompt = true },
			body: llm.Body{System: "a\n\nb", SystemParts: []llm.Part{text("a"), text("b")}, Messages: hiMessages},
			want: `{` + hiJSON + `,"system":[{"text":"a\n\nb"},{"cachePoint":{"type":"default"}}]}`,
		},
		{
			name: "a guardrail",
			cfg:  func(c *provider.Config) { c.GuardrailID, c.GuardrailVersion = "gr-1", "DRAFT" },
			body: llm.Body{Messages: hiMessages},
			want: `{` + hiJSON + `,"guardrailConfig":{"guardrailIdentifier":"gr-1","guardrailVersion":"DRAFT"}}`,
		},
		{
			name: "latency optimized",
			cfg:  func(c *provider.Config) { c.Latency = "optimized" },
			body: llm.Body{Messages: hiMessages},
			want: `{` + hiJSON + `,"performanceConfig":{"latency":"optimized"}}`,
		},
		{
			name: "two user turns in a row join (Converse wants roles to alternate)",
			body: llm.Body{Messages: []llm.Message{user(text("hi")), user(text("there"))}},
			want: `{"messages":[{"role":"user","content":[{"text":"hi"},{"text":"there"}]}]}`,
		},
		{
			name: "prompt_cache system: a cache point after the system prompt",
			cfg:  func(c *provider.Config) { c.CacheSystemPrompt = true },
			body: llm.Body{System: "be brief", Messages: hiMessages},
			want: `{` + hiJSON + `,"system":[{"text":"be brief"},{"cachePoint":{"type":"default"}}]}`,
		},
		{
			name: "json_schema: structured output, the schema as a string",
			body: llm.Body{Messages: hiMessages, ResponseFormat: json.RawMessage(`{"type":"json_schema","json_schema":{"name":"colours","schema":{"type":"object","properties":{"c":{"type":"string"}}}}}`)},
			want: `{` + hiJSON + `,"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":"{\"type\":\"object\",\"properties\":{\"c\":{\"type\":\"string\"}}}","name":"colours"}}}}}`,
		},
		{
			name: "a tool choice without tools sends no toolConfig",
			body: llm.Body{Messages: hiMessages, ToolChoice: &llm.ToolChoice{Mode: "required"}},
			want: `{` + hiJSON + `}`,
		},
		{
			name: "a conversation opened by the assistant gets a user turn first",
			body: llm.Body{System: "greet", Messages: []llm.Message{{Role: llm.RoleAssistant, Parts: []llm.Part{text("Hello! How can I help?")}}, user(text("hi"))}},
			want: `{"messages":[{"role":"user","content":[{"text":"(conversation start)"}]},
				{"role":"assistant","content":[{"text":"Hello! How can I help?"}]},
				{"role":"user","content":[{"text":"hi"}]}],"system":[{"text":"greet"}]}`,
		},
		{
			name: "an OpenAI client's flex service tier is Bedrock's; auto is Bedrock's choice",
			body: llm.Body{Messages: hiMessages, ServiceTier: "flex"},
			want: `{` + hiJSON + `,"serviceTier":{"type":"flex"}}`,
		},
		{
			name: "service tier auto: none",
			body: llm.Body{Messages: hiMessages, ServiceTier: "auto"},
			want: `{` + hiJSON + `}`,
		},
		{
			name: "no output limit anywhere: no inferenceConfig",
			body: llm.Body{Messages: hiMessages},
			want: `{` + hiJSON + `}`,
		},
		{
			name: "maxTokens: the deployment's output limit",
			cfg:  func(c *provider.Config) { c.MaxOutputTokens = 64000 },
			body: llm.Body{Messages: hiMessages},
			want: `{` + hiJSON + `,"inferenceConfig":{"maxTokens":64000}}`,
		},
		{
			name:      "maxTokens: the request's before the deployment's",
			cfg:       func(c *provider.Config) { c.MaxOutputTokens = 64000 },
			maxTokens: 300,
			body:      llm.Body{Messages: hiMessages},
			want:      `{` + hiJSON + `,"inferenceConfig":{"maxTokens":300}}`,
		},
		{
			name: "temperature above 1 is clamped; text response format needs nothing",
			body: llm.Body{Messages: hiMessages, Temperature: new(1.7), ResponseFormat: json.RawMessage(`{"type":"text"}`)},
			want: `{` + hiJSON + `,"inferenceConfig":{"temperature":1}}`,
		},
		{
			name:      "reasoning: thinking budget on top of maxTokens, sampling dropped",
			cfg:       func(c *provider.Config) { c.Reasoning = true },
			maxTokens: 500,
			body:      llm.Body{Messages: hiMessages, ReasoningEffort: "medium", Temperature: new(0.5), TopP: new(0.9), Stop: []string{"END"}},
			want: `{` + hiJSON + `,"inferenceConfig":{"maxTokens":8692,"stopSequences":["END"]},
				"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":8192}},
				"additionalModelResponseFieldPaths":["/stop_sequence"]}`,
		},
		{
			name: "reasoning asked of another model: nothing",
			body: llm.Body{Messages: hiMessages, ReasoningEffort: "high", ThinkingBudget: 4000},
			want: `{` + hiJSON + `}`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "converse_text.json"})
			req := request(&tt.body)
			req.MaxTokens = tt.maxTokens
			if _, err := newClient(srv, tt.cfg).Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if diff := providertest.JSONDiff(t, tt.want, providertest.Receive(t, got).Body); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTranslateStreamSameBody: a streamed request's body is the same
// translation (streaming is in the path).
func TestTranslateStreamSameBody(t *testing.T) {
	srv, got := providertest.Upstream(t, streamReply(encode(t, event("messageStop", `{"stopReason":"end_turn"}`))))
	s, err := newClient(srv, func(c *provider.Config) { c.MaxOutputTokens = 100 }).ChatStream(context.Background(), hello())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if diff := providertest.JSONDiff(t, `{`+hiJSON+`,"inferenceConfig":{"maxTokens":100}}`, providertest.Receive(t, got).Body); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
}

// TestTranslateRefuses: what Converse cannot say is the client's bad
// request, and never reaches the upstream.
func TestTranslateRefuses(t *testing.T) {
	for _, tt := range []struct {
		name    string
		body    llm.Body
		message string
		param   string // the field named, when the client's field caused it
	}{
		{"image by URL", llm.Body{Messages: []llm.Message{user(image("https://example.com/cat.png"))}}, "image URL has no counterpart on a Bedrock deployment", ""},
		{"image type Bedrock does not read", llm.Body{Messages: []llm.Message{user(image("data:image/bmp;base64,Qk0="))}}, `image type "image/bmp"`, ""},
		{"image data not base64", llm.Body{Messages: []llm.Message{user(image("data:image/png,%89PNG"))}}, "not base64", ""},
		{"image by URL in a tool result", llm.Body{Messages: []llm.Message{{Role: llm.RoleTool, ToolCallID: "t", Parts: []llm.Part{image("http://x/y.png")}}}}, "image URL", ""},
		{"json_schema without a schema", llm.Body{Messages: hiMessages, ResponseFormat: json.RawMessage(`{"type":"json_schema","json_schema":{"name":"x"}}`)},
			`needs a schema object`, "response_format"},
		{"json_object", llm.Body{Messages: hiMessages, ResponseFormat: json.RawMessage(`{"type":"json_object"}`)}, `response_format "json_object"`, "response_format"},
		{"tool arguments not JSON", llm.Body{Messages: []llm.Message{{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t", Name: "f", Arguments: `[1,`}}}}}, "not a JSON object", ""},
		{"tool arguments not an object", llm.Body{Messages: []llm.Message{{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t", Name: "f", Arguments: `[1]`}}}}}, "not a JSON object", ""},
		{"invalid tool schema", llm.Body{Messages: hiMessages, Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":`)}}}, "invalid parameters schema", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "converse_text.json"})
			c := newClient(srv, nil)
			for _, call := range []func() error{
				func() error { _, err := c.Chat(context.Background(), request(&tt.body)); return err },
				func() error { _, err := c.ChatStream(context.Background(), request(&tt.body)); return err },
			} {
				err := call()
				if provider.KindOf(err) != provider.KindBadRequest || !strings.Contains(err.Error(), tt.message) {
					t.Errorf("got %v, want a bad_request error saying %q", err, tt.message)
				}
				var pe *provider.Error
				if tt.param != "" && (!errors.As(err, &pe) || pe.Param != tt.param) {
					t.Errorf("got %v, want it to name %s", err, tt.param)
				}
			}
			if len(got) != 0 {
				t.Errorf("got an upstream request, want none")
			}
		})
	}
}

// TestTranslateDropsBlankSystem: system text of only whitespace (the
// prompt, a block of it, a system message) is not sent as a system block,
// which Converse would refuse as blank; text is.
func TestTranslateDropsBlankSystem(t *testing.T) {
	for _, tt := range []struct {
		name string
		body llm.Body
		want string // the system sent; "" for none
	}{
		{"blank prompt", llm.Body{System: " \n ", Messages: hiMessages}, ""},
		{"blank prompt, cached", llm.Body{System: " \n ", SystemCacheMark: true, Messages: hiMessages}, ""},
		{"blank system message", llm.Body{Messages: []llm.Message{{Role: llm.RoleSystem, Parts: []llm.Part{text("\t")}}, user(text("hi"))}}, ""},
		{"blank block beside text", llm.Body{SystemParts: []llm.Part{{Type: llm.PartText, Text: "rules", CacheMark: true}, {Type: llm.PartText, Text: "  "}}, Messages: hiMessages},
			`[{"text":"rules"},{"cachePoint":{"type":"default"}}]`},
		{"text", llm.Body{System: "be brief", Messages: hiMessages}, `[{"text":"be brief"}]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "converse_text.json"})
			if _, err := newClient(srv, nil).Chat(context.Background(), request(&tt.body)); err != nil {
				t.Fatal(err)
			}
			sent := gjson.GetBytes(providertest.Receive(t, got).Body, "system")
			switch {
			case tt.want == "" && sent.Exists():
				t.Errorf("got system %s, want none", sent.Raw)
			case tt.want != "":
				if diff := providertest.JSONDiff(t, tt.want, []byte(sent.Raw)); diff != "" {
					t.Errorf("system mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestTranslateDropsEmptyTurns: a turn with no content (an empty answer,
// an empty user message) is not sent, since Converse refuses a message
// whose content is empty; the turns either side of it are joined. An
// empty last user message leaves nothing to answer: a 400 naming
// messages, before any upstream call.
func TestTranslateDropsEmptyTurns(t *testing.T) {
	say := func(role llm.Role, s string) llm.Message {
		return llm.Message{Role: role, Parts: []llm.Part{text(s)}}
	}
	tests := []struct {
		name string
		msgs []llm.Message
		want string // the messages sent; "" for a bad request
	}{
		{"empty answer between questions", []llm.Message{say(llm.RoleUser, "q"), say(llm.RoleAssistant, ""), say(llm.RoleUser, "q2")},
			`[{"role":"user","content":[{"text":"q"},{"text":"q2"}]}]`},
		{"answer with no parts", []llm.Message{say(llm.RoleUser, "q"), {Role: llm.RoleAssistant}, say(llm.RoleUser, "q2")},
			`[{"role":"user","content":[{"text":"q"},{"text":"q2"}]}]`},
		{"empty user message between answers", []llm.Message{say(llm.RoleUser, "q"), say(llm.RoleAssistant, "a"), say(llm.RoleUser, ""), say(llm.RoleAssistant, "b"), say(llm.RoleUser, "q2")},
			`[{"role":"user","content":[{"text":"q"}]},{"role":"assistant","content":[{"text":"a"},{"text":"b"}]},{"role":"user","content":[{"text":"q2"}]}]`},
		{"empty opening user message", []llm.Message{say(llm.RoleUser, ""), say(llm.RoleAssistant, "hello"), say(llm.RoleUser, "q")},
			`[{"role":"user","content":[{"text":"(conversation start)"}]},{"role":"assistant","content":[{"text":"hello"}]},{"role":"user","content":[{"text":"q"}]}]`},
		{"empty prefill", []llm.Message{say(llm.RoleUser, "q"), say(llm.RoleAssistant, "")},
			`[{"role":"user","content":[{"text":"q"}]}]`},
		{"empty tool result is kept", []llm.Message{say(llm.RoleUser, "q"), {Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t1", Name: "f"}}}, {Role: llm.RoleTool, ToolCallID: "t1"}},
			`[{"role":"user","content":[{"text":"q"}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"f","input":{}}}]},{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[]}}]}]`},
		{"empty last user message", []llm.Message{say(llm.RoleUser, "q"), say(llm.RoleAssistant, "a"), say(llm.RoleUser, "")}, ""},
		{"only an empty user message", []llm.Message{say(llm.RoleUser, "")}, ""},
		// Text of only whitespace is blank to Converse, as empty text is.
		{"whitespace answer between questions", []llm.Message{say(llm.RoleUser, "q"), say(llm.RoleAssistant, " \n\t"), say(llm.RoleUser, "q2")},
			`[{"role":"user","content":[{"text":"q"},{"text":"q2"}]}]`},
		{"whitespace part beside text", []llm.Message{user(text("q"), text("  "))},
			`[{"role":"user","content":[{"text":"q"}]}]`},
		{"whitespace tool result text", []llm.Message{say(llm.RoleUser, "q"), {Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t1", Name: "f"}}}, {Role: llm.RoleTool, ToolCallID: "t1", Parts: []llm.Part{text("\n")}}},
			`[{"role":"user","content":[{"text":"q"}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"f","input":{}}}]},{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[]}}]}]`},
		{"whitespace last user message", []llm.Message{say(llm.RoleUser, "q"), say(llm.RoleAssistant, "a"), say(llm.RoleUser, "\n ")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "converse_text.json"})
			_, err := newClient(srv, nil).Chat(context.Background(), request(&llm.Body{Messages: tt.msgs}))
			if tt.want == "" {
				var pe *provider.Error
				if !errors.As(err, &pe) || pe.Kind != provider.KindBadRequest || pe.Param != "messages" {
					t.Fatalf("got %v, want a bad request naming messages", err)
				}
				if len(got) != 0 {
					t.Errorf("got an upstream request, want none")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sent := gjson.GetBytes(providertest.Receive(t, got).Body, "messages").Raw
			if diff := providertest.JSONDiff(t, tt.want, []byte(sent)); diff != "" {
				t.Errorf("messages mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTranslateThinking: a reasoning deployment thinks with the client's
// effort, on top of the answer's maxTokens (the request's, the
// deployment's limit, or 4096) and within the deployment's limit, or with
// an Anthropic client's budget, which its max_tokens already holds; a
// forced tool choice, too small a budget, or a tool cycle whose thinking
// did not come back get none.
func TestTranslateThinking(t *testing.T) {
	calls := llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c", Name: "f", Arguments: "{}"}}}
	result := llm.Message{Role: llm.RoleTool, ToolCallID: "c", Parts: []llm.Part{text("ok")}}
	signed := calls
	signed.Thinking = []llm.Thinking{{Text: "t", Signature: "s"}}
	for _, tt := range []struct {
		name      string
		limit     int
		maxTokens int
		body      llm.Body
		budget    int64 // 0: no thinking
		max       int64 // 0: no maxTokens
	}{
		{"medium effort", 0, 500, llm.Body{ReasoningEffort: "medium"}, 8192, 8692},
		{"budget from an Anthropic-shaped request: inside its max_tokens", 0, 5000, llm.Body{ThinkingBudget: 3000}, 3000, 5000},
		{"an Anthropic-shaped request's max_tokens is not cut to the limit", 4000, 5000, llm.Body{ThinkingBudget: 3000}, 3000, 5000},
		{"no maxTokens: 4096 is the answer's share", 0, 0, llm.Body{ReasoningEffort: "low"}, 2048, 6144},
		{"no maxTokens: the deployment's limit, half of it thinking", 10000, 0, llm.Body{ReasoningEffort: "high"}, 5000, 10000},
		{"within the deployment's limit", 6000, 500, llm.Body{ReasoningEffort: "high"}, 5500, 6000},
		{"limit leaves little room: half of it", 4000, 3500, llm.Body{ReasoningEffort: "high"}, 2000, 4000},
		{"limit too small to think", 1500, 1000, llm.Body{ReasoningEffort: "high"}, 0, 1000},
		{"minimal effort", 0, 500, llm.Body{ReasoningEffort: "minimal"}, 0, 500},
		{"budget below the least", 0, 500, llm.Body{ThinkingBudget: 1000}, 0, 500},
		{"forced tool", 0, 500, llm.Body{ReasoningEffort: "high", Tools: []llm.Tool{{Name: "f"}}, ToolChoice: &llm.ToolChoice{Mode: "tool", Name: "f"}}, 0, 500},
		{"required tool", 0, 500, llm.Body{ReasoningEffort: "high", Tools: []llm.Tool{{Name: "f"}}, ToolChoice: &llm.ToolChoice{Mode: "required"}}, 0, 500},
		{"tool choice none: no tools, thinking", 0, 500, llm.Body{ReasoningEffort: "low", Tools: []llm.Tool{{Name: "f"}}, ToolChoice: &llm.ToolChoice{Mode: "none"}}, 2048, 2548},
		{"tool cycle without its thinking", 0, 500, llm.Body{ReasoningEffort: "low", Tools: []llm.Tool{{Name: "f"}},
			Messages: []llm.Message{user(text("hi")), calls, result}}, 0, 500},
		{"tool cycle with its thinking", 0, 500, llm.Body{ReasoningEffort: "low", Tools: []llm.Tool{{Name: "f"}},
			Messages: []llm.Message{user(text("hi")), signed, result}}, 2048, 2548},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "converse_text.json"})
			if tt.body.Messages == nil {
				tt.body.Messages = hiMessages
			}
			tt.body.Temperature = new(0.5)
			req := request(&tt.body)
			req.MaxTokens = tt.maxTokens
			c := newClient(srv, func(c *provider.Config) { c.Reasoning, c.MaxOutputTokens = true, tt.limit })
			if _, err := c.Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			body := providertest.Receive(t, got).Body
			th := gjson.GetBytes(body, "additionalModelRequestFields.thinking")
			if got := gjson.GetBytes(body, "inferenceConfig.maxTokens").Int(); got != tt.max {
				t.Errorf("maxTokens %d, want %d (%s)", got, tt.max, body)
			}
			temp := gjson.GetBytes(body, "inferenceConfig.temperature")
			if tt.budget == 0 {
				if th.Exists() || temp.Float() != 0.5 {
					t.Errorf("%s, want no thinking and the temperature kept", body)
				}
				return
			}
			if th.Raw != `{"type":"enabled","budget_tokens":`+strconv.FormatInt(tt.budget, 10)+`}` || temp.Exists() {
				t.Errorf("%s, want thinking with budget %d and no temperature", body, tt.budget)
			}
		})
	}
}
