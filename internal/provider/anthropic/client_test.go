package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

func TestChatPassthroughRewritesOnlyModel(t *testing.T) {
	providertest.ChatPassthrough(t, adapter, providertest.PassthroughCase{
		Fixture: "message_text.json",
		Config: func(cfg *provider.Config) {
			cfg.Headers = map[string]string{"anthropic-beta": "prompt-caching-2024-07-31"}
		},
		Request:  &llm.Request{Dialect: llm.DialectAnthropic, Raw: []byte(`{"model":"smart", "max_tokens":1024,"messages":[{"role":"user","content":"Hello"}],"thinking":{"type":"enabled","budget_tokens":2000},"x_new":[1.50]}`)},
		WantBody: `{"model":"claude-sonnet-4-5", "max_tokens":1024,"messages":[{"role":"user","content":"Hello"}],"thinking":{"type":"enabled","budget_tokens":2000},"x_new":[1.50]}`,
		WantPath: "/v1/messages",
		WantHeader: map[string]string{
			"x-api-key":         testKey,
			"anthropic-version": DefaultVersion,
			"Content-Type":      "application/json",
			"anthropic-beta":    "prompt-caching-2024-07-31", // the configured extra header
			"Authorization":     "",
		},
		Want: &llm.Response{
			ID: "msg_013Zva2CMHLNnXjNJJKqJ2EF", Model: "claude-sonnet-4-5-20250929", Created: 1735689600,
			Text: "Hi! My name is Claude. How can I help?", FinishReason: llm.FinishStop,
			Usage: llm.Usage{InputTokens: 2195, CachedInputTokens: 100, OutputTokens: 503}, Raw: providertest.Fixture(t, "message_text.json"), Dialect: llm.DialectAnthropic,
		},
	})
}

func TestEndpointAndVersion(t *testing.T) {
	tests := []struct {
		name, suffix, version, wantVersion string
	}{
		{"root base URL", "", "", DefaultVersion},
		{"base URL with /v1", "/v1/", "2024-01-01", "2024-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "message_text.json"})
			c := newClient(srv, func(cfg *provider.Config) { cfg.BaseURL += tt.suffix; cfg.APIVersion = tt.version })
			if _, err := c.Chat(context.Background(), &llm.Request{Dialect: llm.DialectAnthropic, Raw: []byte(`{"model":"x"}`)}); err != nil {
				t.Fatal(err)
			}
			up := providertest.Receive(t, got)
			if up.Path != "/v1/messages" || up.Header.Get("anthropic-version") != tt.wantVersion {
				t.Errorf("got %s version %q, want /v1/messages version %q", up.Path, up.Header.Get("anthropic-version"), tt.wantVersion)
			}
		})
	}
}

// TestClientBetasSentOn: the client's anthropic-beta header goes to the
// deployment (after the deployment's own betas, each name once) on chat,
// streams and token counts, and never with a translated request.
func TestClientBetasSentOn(t *testing.T) {
	const raw = `{"model":"x","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name, configured, client, want string
		dialect                        llm.Dialect
		call                           func(c *Client, req *llm.Request) error
	}{
		{name: "chat", client: "context-management-2025-06-27", want: "context-management-2025-06-27", dialect: llm.DialectAnthropic,
			call: func(c *Client, req *llm.Request) error { _, err := c.Chat(context.Background(), req); return err }},
		{name: "merged with the deployment's", configured: "prompt-caching-2024-07-31,files-api-2025-04-14", client: "files-api-2025-04-14, mcp-client-2025-04-04",
			want: "prompt-caching-2024-07-31,files-api-2025-04-14,mcp-client-2025-04-04", dialect: llm.DialectAnthropic,
			call: func(c *Client, req *llm.Request) error { _, err := c.Chat(context.Background(), req); return err }},
		{name: "count tokens", client: "token-counting-2024-11-01", want: "token-counting-2024-11-01", dialect: llm.DialectAnthropic,
			call: func(c *Client, req *llm.Request) error {
				_, err := c.CountTokens(context.Background(), req)
				return err
			}},
		{name: "translated request", client: "context-management-2025-06-27", want: "", dialect: llm.DialectOpenAI,
			call: func(c *Client, req *llm.Request) error { _, err := c.Chat(context.Background(), req); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := providertest.Reply{Fixture: "message_text.json"}
			if tt.name == "count tokens" {
				reply = providertest.Reply{Body: `{"input_tokens":12}`}
			}
			srv, got := providertest.Upstream(t, reply)
			c := newClient(srv, func(cfg *provider.Config) {
				if tt.configured != "" {
					cfg.Headers = map[string]string{"anthropic-beta": tt.configured}
				}
			})
			req := &llm.Request{Dialect: tt.dialect, Raw: []byte(raw), Beta: tt.client}
			if tt.dialect != llm.DialectAnthropic {
				req.SetBody(&llm.Body{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hi"}}}}})
			}
			if err := tt.call(c, req); err != nil {
				t.Fatal(err)
			}
			if up := providertest.Receive(t, got); up.Header.Get("anthropic-beta") != tt.want {
				t.Errorf("got anthropic-beta %q, want %q", up.Header.Get("anthropic-beta"), tt.want)
			}
		})
	}
}

func TestChatToolUseResponse(t *testing.T) {
	srv, _ := providertest.Upstream(t, providertest.Reply{Fixture: "message_tool_use.json"})
	resp, err := newClient(srv, nil).Chat(context.Background(), &llm.Request{Dialect: llm.DialectAnthropic, Raw: []byte(`{"model":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.ToolCall{{ID: "toolu_01A09q90qw90lq917835lq9", Name: "get_weather", Arguments: `{"location": "San Francisco, CA", "unit": "celsius"}`}}
	if diff := cmp.Diff(want, resp.ToolCalls); diff != "" {
		t.Errorf("tool calls mismatch (-want +got):\n%s", diff)
	}
	if resp.FinishReason != llm.FinishToolCalls || resp.Text != "I'll check the weather." {
		t.Errorf("got finish %q text %q, want tool_calls and the text block", resp.FinishReason, resp.Text)
	}
}

func TestChatThinkingResponse(t *testing.T) {
	srv, _ := providertest.Upstream(t, providertest.Reply{Fixture: "message_thinking.json"})
	resp, err := newClient(srv, nil).Chat(context.Background(), &llm.Request{Dialect: llm.DialectAnthropic, Raw: []byte(`{"model":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Thinking{{Text: "The sky scatters blue light.", Signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}, {Redacted: "EmwKAhgBEgy3va3pzix"}}
	if diff := cmp.Diff(want, resp.Thinking); diff != "" {
		t.Errorf("thinking mismatch (-want +got):\n%s", diff)
	}
	if resp.Text != "Rayleigh scattering." {
		t.Errorf("text %q, want the text block alone", resp.Text)
	}
}

func TestStopReasons(t *testing.T) {
	tests := []struct {
		in   string
		want llm.FinishReason
	}{
		{"end_turn", llm.FinishStop}, {"stop_sequence", llm.FinishStop}, {"max_tokens", llm.FinishLength},
		{"tool_use", llm.FinishToolCalls}, {"refusal", llm.FinishContentFilter}, {"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := stopReason(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTranslateCanonical(t *testing.T) {
	body := &llm.Body{
		System: "be brief",
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Parts: []llm.Part{{Type: llm.PartText, Text: "use metric"}}},
			{Role: llm.RoleUser, Parts: []llm.Part{
				{Type: llm.PartText, Text: "what is this?"},
				{Type: llm.PartImage, ImageURL: "data:image/png;base64,iVBORw0KGgo="},
				{Type: llm.PartImage, ImageURL: "https://example.com/cat.jpg"},
			}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "Let me look."}},
				ToolCalls: []llm.ToolCall{{ID: "toolu_1", Name: "lookup", Arguments: `{"q":"x"}`}, {ID: "toolu_2", Name: "now"}}},
			{Role: llm.RoleTool, ToolCallID: "toolu_1", Parts: []llm.Part{{Type: llm.PartText, Text: "a cat"}}},
			{Role: llm.RoleTool, ToolCallID: "toolu_2", IsError: true, Parts: []llm.Part{{Type: llm.PartText, Text: "clock broken"}}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "thanks"}}},
		},
		Temperature: new(0.3),
		TopP:        new(0.8),
		Stop:        []string{"END"},
		Tools:       []llm.Tool{{Name: "lookup", Description: "look up", Parameters: json.RawMessage(`{"type":"object","properties":{"q":{"type":"string"}}}`)}, {Name: "now"}},
		ToolChoice:  &llm.ToolChoice{Mode: "required"},
		User:        "u-1",
	}
	want := `{
		"model":"claude-sonnet-4-5","max_tokens":4096,"system":"be brief\n\nuse metric",
		"messages":[
			{"role":"user","content":[
				{"type":"text","text":"what is this?"},
				{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
				{"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]},
			{"role":"assistant","content":[
				{"type":"text","text":"Let me look."},
				{"type":"tool_use","id":"toolu_1","name":"lookup","input":{"q":"x"}},
				{"type":"tool_use","id":"toolu_2","name":"now","input":{}}]},
			{"role":"user","content":[
				{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"a cat"}]},
				{"type":"tool_result","tool_use_id":"toolu_2","is_error":true,"content":[{"type":"text","text":"clock broken"}]},
				{"type":"text","text":"thanks"}]}
		],
		"stop_sequences":["END"],"temperature":0.3,"top_p":0.8,"stream":true,
		"tools":[
			{"name":"lookup","description":"look up","input_schema":{"type":"object","properties":{"q":{"type":"string"}}}},
			{"name":"now","input_schema":{"type":"object"}}],
		"tool_choice":{"type":"any"},
		"metadata":{"user_id":"u-1"}}`
	srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "stream_text.sse"})
	req := &llm.Request{Dialect: llm.DialectOpenAI, Raw: []byte(`{"ignored":true}`)}
	req.SetBody(body)
	s, err := newClient(srv, nil).ChatStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if diff := providertest.JSONDiff(t, want, providertest.Receive(t, got).Body); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
}

func TestTranslateOptions(t *testing.T) {
	tests := []struct {
		name      string
		body      *llm.Body
		maxTokens int
		check     func(m map[string]any) (got, want any)
		outLimit  int // the deployment's MaxOutputTokens
	}{
		{"max_tokens kept", &llm.Body{}, 300, func(m map[string]any) (any, any) { return m["max_tokens"], 300.0 }, 64000},
		{"no max_tokens: the deployment's output limit", &llm.Body{}, 0, func(m map[string]any) (any, any) { return m["max_tokens"], 64000.0 }, 64000},
		{"no max_tokens and no limit: the default", &llm.Body{}, 0, func(m map[string]any) (any, any) { return m["max_tokens"], float64(DefaultMaxTokens) }, 0},
		{"tool choice auto", &llm.Body{ToolChoice: &llm.ToolChoice{Mode: "auto"}}, 0,
			func(m map[string]any) (any, any) { return m["tool_choice"], map[string]any{"type": "auto"} }, 0},
		{"tool choice none", &llm.Body{ToolChoice: &llm.ToolChoice{Mode: "none"}}, 0,
			func(m map[string]any) (any, any) { return m["tool_choice"], map[string]any{"type": "none"} }, 0},
		{"tool choice named", &llm.Body{ToolChoice: &llm.ToolChoice{Mode: "tool", Name: "f"}}, 0,
			func(m map[string]any) (any, any) {
				return m["tool_choice"], map[string]any{"type": "tool", "name": "f"}
			}, 0},
		{"temperature above 1 is clamped", &llm.Body{Temperature: new(1.7)}, 0, func(m map[string]any) (any, any) { return m["temperature"], 1.0 }, 0},
		{"not streaming", &llm.Body{}, 0, func(m map[string]any) (any, any) { return m["stream"], nil }, 0},
		{"json_schema becomes output_config", &llm.Body{ResponseFormat: json.RawMessage(`{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}`)}, 0,
			func(m map[string]any) (any, any) {
				return m["output_config"], map[string]any{"format": map[string]any{"type": "json_schema",
					"schema": map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "integer"}}}}}
			}, 0},
		{"response_format text needs nothing", &llm.Body{ResponseFormat: json.RawMessage(`{"type":"text"}`)}, 0,
			func(m map[string]any) (any, any) { return m["output_config"], nil }, 0},
		{"service tier default is standard_only", &llm.Body{ServiceTier: "default"}, 0,
			func(m map[string]any) (any, any) { return m["service_tier"], "standard_only" }, 0},
		{"service tier auto", &llm.Body{ServiceTier: "auto"}, 0, func(m map[string]any) (any, any) { return m["service_tier"], "auto" }, 0},
		{"service tier flex has no counterpart", &llm.Body{ServiceTier: "flex"}, 0, func(m map[string]any) (any, any) { return m["service_tier"], nil }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "message_text.json"})
			req := &llm.Request{MaxTokens: tt.maxTokens}
			req.SetBody(tt.body)
			if _, err := newClient(srv, func(c *provider.Config) { c.MaxOutputTokens = tt.outLimit }).Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(providertest.Receive(t, got).Body, &m); err != nil {
				t.Fatal(err)
			}
			if g, w := tt.check(m); !cmp.Equal(g, w) {
				t.Errorf("got %v, want %v", g, w)
			}
		})
	}
}

func TestTranslateRejectsBadToolArguments(t *testing.T) {
	srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "message_text.json"})
	req := &llm.Request{}
	req.SetBody(&llm.Body{Messages: []llm.Message{{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t", Name: "f", Arguments: `[1,`}}}}})
	_, err := newClient(srv, nil).Chat(context.Background(), req)
	if k := provider.KindOf(err); k != provider.KindBadRequest {
		t.Errorf("got kind %v, want bad_request", k)
	}
	if len(got) != 0 {
		t.Errorf("got an upstream request, want none")
	}
}

// TestChatWithoutContentFails: a 200 with no content array is an
// unavailable upstream; an empty array is a (legitimately) empty answer.
func TestChatWithoutContentFails(t *testing.T) {
	tests := []struct {
		body    string
		wantErr bool
	}{
		{`{"id":"msg_1","type":"message","role":"assistant","model":"m","stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":0}}`, true},
		{`{"id":"msg_1","type":"message","role":"assistant","model":"m","content":null}`, true},
		{`{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":0}}`, false},
	}
	for _, tt := range tests {
		srv, _ := providertest.Upstream(t, providertest.Reply{Body: tt.body})
		req := &llm.Request{Dialect: llm.DialectAnthropic, Raw: []byte(`{"model":"m","max_tokens":5,"messages":[]}`)}
		resp, err := newClient(srv, nil).Chat(context.Background(), req)
		if got := provider.KindOf(err) == provider.KindUnavailable; got != tt.wantErr {
			t.Errorf("%s: got %+v, %v; want unavailable error %v", tt.body, resp, err, tt.wantErr)
		}
	}
}

// TestChatUnfinishedFails: a non-streamed answer without its stop_reason
// (null, missing, empty) was not finished: an unavailable upstream that
// fails over, not an answer a translated client reads as ended
// (finish_reason stop). Every stop_reason, even one not known here, is an
// answer.
func TestChatUnfinishedFails(t *testing.T) {
	const head = `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"Partial"}],"usage":{"input_tokens":1,"output_tokens":1}`
	tests := []struct {
		name    string
		body    string
		wantErr bool
	}{
		{"null", head + `,"stop_reason":null}`, true},
		{"missing", head + `}`, true},
		{"empty", head + `,"stop_reason":""}`, true},
		{"not a string", head + `,"stop_reason":1}`, true},
		{"end_turn", head + `,"stop_reason":"end_turn"}`, false},
		{"pause_turn", head + `,"stop_reason":"pause_turn"}`, false},
		{"unknown", head + `,"stop_reason":"new_reason"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, dialect := range []llm.Dialect{llm.DialectAnthropic, llm.DialectOpenAI} {
				srv, _ := providertest.Upstream(t, providertest.Reply{Body: tt.body})
				req := &llm.Request{Dialect: dialect, Raw: []byte(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`)}
				if dialect != llm.DialectAnthropic {
					req = &llm.Request{Dialect: dialect}
					req.SetBody(&llm.Body{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hi"}}}}})
				}
				resp, err := newClient(srv, nil).Chat(context.Background(), req)
				switch {
				case tt.wantErr && provider.KindOf(err) != provider.KindUnavailable:
					t.Errorf("%s: got %+v, %v; want an unavailable error", dialect, resp, err)
				case !tt.wantErr && (err != nil || resp.FinishReason == ""):
					t.Errorf("%s: got %+v, %v; want an answer with its finish reason", dialect, resp, err)
				}
			}
		})
	}
}

// TestTranslateRefusesUnmappableResponseFormat: a response_format the
// Messages API cannot honour is the client's 400 naming it, not prose
// where JSON was asked for.
func TestTranslateRefusesUnmappableResponseFormat(t *testing.T) {
	for _, rf := range []string{`{"type":"json_object"}`, `{"type":"json_schema","json_schema":{"name":"x"}}`} {
		srv, _ := providertest.Upstream(t, providertest.Reply{Fixture: "message_text.json"})
		req := &llm.Request{}
		req.SetBody(&llm.Body{ResponseFormat: json.RawMessage(rf)})
		_, err := newClient(srv, nil).Chat(context.Background(), req)
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Kind != provider.KindBadRequest || pe.Param != "response_format" {
			t.Errorf("%s: got %v, want a bad_request error naming response_format", rf, err)
		}
	}
}

// TestTranslateDropsBlankSystem: a system prompt of only whitespace is not
// sent (as a cached one it would be a text block the Messages API
// refuses); one with text is.
func TestTranslateDropsBlankSystem(t *testing.T) {
	for _, tt := range []struct {
		system string
		want   bool
	}{{" \n ", false}, {"be brief", true}} {
		for _, cache := range []bool{false, true} {
			srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "message_text.json"})
			req := &llm.Request{Dialect: llm.DialectOpenAI}
			req.SetBody(&llm.Body{System: tt.system, Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "q"}}}}})
			if _, err := newClient(srv, func(c *provider.Config) { c.CacheSystemPrompt = cache }).Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if sent := gjson.GetBytes(providertest.Receive(t, got).Body, "system").Exists(); sent != tt.want {
				t.Errorf("system %q, cache %v: got system sent %v, want %v", tt.system, cache, sent, tt.want)
			}
		}
	}
}

// TestTranslateDropsEmptyTurns: a turn with no content (an empty answer,
// an empty user message) is not sent, since the Messages API refuses
// empty content in any message but a final assistant one; the turns
// either side of it are joined. An empty last user message leaves
// nothing to answer: a 400 naming messages, before any upstream call.
func TestTranslateDropsEmptyTurns(t *testing.T) {
	text := func(role llm.Role, s string) llm.Message {
		return llm.Message{Role: role, Parts: []llm.Part{{Type: llm.PartText, Text: s}}}
	}
	tests := []struct {
		name string
		msgs []llm.Message
		want string // the messages sent; "" for a bad request
	}{
		{"empty answer between questions", []llm.Message{text(llm.RoleUser, "q"), text(llm.RoleAssistant, ""), text(llm.RoleUser, "q2")},
			`[{"role":"user","content":[{"type":"text","text":"q"},{"type":"text","text":"q2"}]}]`},
		{"answer with no parts", []llm.Message{text(llm.RoleUser, "q"), {Role: llm.RoleAssistant}, text(llm.RoleUser, "q2")},
			`[{"role":"user","content":[{"type":"text","text":"q"},{"type":"text","text":"q2"}]}]`},
		{"empty user message between answers", []llm.Message{text(llm.RoleUser, "q"), text(llm.RoleAssistant, "a"), text(llm.RoleUser, ""), text(llm.RoleAssistant, "b"), text(llm.RoleUser, "q2")},
			`[{"role":"user","content":[{"type":"text","text":"q"}]},{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"user","content":[{"type":"text","text":"q2"}]}]`},
		{"empty opening user message", []llm.Message{text(llm.RoleUser, ""), text(llm.RoleAssistant, "hello"), text(llm.RoleUser, "q")},
			`[{"role":"assistant","content":[{"type":"text","text":"hello"}]},{"role":"user","content":[{"type":"text","text":"q"}]}]`},
		{"empty prefill", []llm.Message{text(llm.RoleUser, "q"), text(llm.RoleAssistant, "")},
			`[{"role":"user","content":[{"type":"text","text":"q"}]}]`},
		{"empty tool result is kept", []llm.Message{text(llm.RoleUser, "q"), {Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t1", Name: "f"}}}, {Role: llm.RoleTool, ToolCallID: "t1"}},
			`[{"role":"user","content":[{"type":"text","text":"q"}]},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1"}]}]`},
		{"empty last user message", []llm.Message{text(llm.RoleUser, "q"), text(llm.RoleAssistant, "a"), text(llm.RoleUser, "")}, ""},
		{"only an empty user message", []llm.Message{text(llm.RoleUser, "")}, ""},
		// Text of only whitespace is refused as empty text is ("text
		// content blocks must contain non-whitespace text").
		{"whitespace answer between questions", []llm.Message{text(llm.RoleUser, "q"), text(llm.RoleAssistant, " \n\t"), text(llm.RoleUser, "q2")},
			`[{"role":"user","content":[{"type":"text","text":"q"},{"type":"text","text":"q2"}]}]`},
		{"whitespace part beside text", []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "q"}, {Type: llm.PartText, Text: "  "}}}},
			`[{"role":"user","content":[{"type":"text","text":"q"}]}]`},
		{"whitespace tool result text", []llm.Message{text(llm.RoleUser, "q"), {Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t1", Name: "f"}}}, {Role: llm.RoleTool, ToolCallID: "t1", Parts: []llm.Part{{Type: llm.PartText, Text: "\n"}}}},
			`[{"role":"user","content":[{"type":"text","text":"q"}]},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1"}]}]`},
		{"whitespace last user message", []llm.Message{text(llm.RoleUser, "q"), text(llm.RoleAssistant, "a"), text(llm.RoleUser, "\n ")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "message_text.json"})
			req := &llm.Request{Dialect: llm.DialectOpenAI}
			req.SetBody(&llm.Body{Messages: tt.msgs})
			_, err := newClient(srv, nil).Chat(context.Background(), req)
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
			var body struct {
				Messages json.RawMessage `json:"messages"`
			}
			if err := json.Unmarshal(providertest.Receive(t, got).Body, &body); err != nil {
				t.Fatal(err)
			}
			if diff := providertest.JSONDiff(t, tt.want, body.Messages); diff != "" {
				t.Errorf("messages mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTranslateDeclaresHistoryTools: a conversation that calls tools sent
// with no tools (a summary turn, a Responses follow-up that does not send
// them again) declares the tools it calls, each once, with tool_choice
// none, as the Messages API refuses tool_use and tool_result blocks
// without tools; a request with tools is sent as it came.
func TestTranslateDeclaresHistoryTools(t *testing.T) {
	history := []llm.Message{
		{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "weather?"}}},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t1", Name: "get_weather", Arguments: "{}"}, {ID: "t2", Name: "now"}}},
		{Role: llm.RoleTool, ToolCallID: "t1", Parts: []llm.Part{{Type: llm.PartText, Text: "sunny"}}},
		{Role: llm.RoleTool, ToolCallID: "t2", Parts: []llm.Part{{Type: llm.PartText, Text: "noon"}}},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t3", Name: "get_weather", Arguments: "{}"}}},
		{Role: llm.RoleTool, ToolCallID: "t3", Parts: []llm.Part{{Type: llm.PartText, Text: "sunny"}}},
	}
	declared := func(name string) string {
		return `{"name":"` + name + `","description":"` + historyToolDescription + `","input_schema":{"type":"object"}}`
	}
	for _, tt := range []struct {
		name string
		body llm.Body
		want string // tools and tool_choice
	}{
		{"no tools", llm.Body{Messages: history, NoParallelTools: true},
			`{"tools":[` + declared("get_weather") + `,` + declared("now") + `],"tool_choice":{"type":"none"}}`},
		{"no tools and a tool choice the client cannot have", llm.Body{Messages: history, ToolChoice: &llm.ToolChoice{Mode: "auto"}},
			`{"tools":[` + declared("get_weather") + `,` + declared("now") + `],"tool_choice":{"type":"none"}}`},
		{"tools", llm.Body{Messages: history, Tools: []llm.Tool{{Name: "get_weather"}}},
			`{"tools":[{"name":"get_weather","input_schema":{"type":"object"}}]}`},
		{"no tool calls", llm.Body{Messages: history[:1]}, `{}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "message_text.json"})
			req := &llm.Request{}
			req.SetBody(&tt.body)
			if _, err := newClient(srv, nil).Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(providertest.Receive(t, got).Body, &m); err != nil {
				t.Fatal(err)
			}
			sent := map[string]json.RawMessage{}
			for _, k := range []string{"tools", "tool_choice"} {
				if v, ok := m[k]; ok {
					sent[k] = v
				}
			}
			b, _ := json.Marshal(sent)
			if diff := providertest.JSONDiff(t, tt.want, b); diff != "" {
				t.Errorf("tools mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A data URL's media type reaches Anthropic in the spelling it takes:
// image/jpg (which OpenAI accepts) is image/jpeg, and case does not
// matter (found by audit A).
func TestTranslateNormalisesImageMediaType(t *testing.T) {
	for in, want := range map[string]string{
		"image/jpg":  "image/jpeg",
		"IMAGE/JPG":  "image/jpeg",
		"Image/PNG":  "image/png",
		"image/jpeg": "image/jpeg",
		"image/webp": "image/webp",
	} {
		srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "message_text.json"})
		req := &llm.Request{}
		req.SetBody(&llm.Body{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{
			{Type: llm.PartImage, ImageURL: "data:" + in + ";base64,iVBORw0KGgo="}}}}})
		if _, err := newClient(srv, nil).Chat(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		var m struct {
			Messages []struct {
				Content []struct {
					Source struct {
						MediaType string `json:"media_type"`
					} `json:"source"`
				} `json:"content"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(providertest.Receive(t, got).Body, &m); err != nil {
			t.Fatal(err)
		}
		if g := m.Messages[0].Content[0].Source.MediaType; g != want {
			t.Errorf("%s: media_type %q, want %q", in, g, want)
		}
	}
}
