package openai

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

func TestChatPassthroughRewritesOnlyModel(t *testing.T) {
	providertest.ChatPassthrough(t, adapter, providertest.PassthroughCase{
		Fixture:  "chat_text.json",
		Config:   func(cfg *provider.Config) { cfg.Headers = map[string]string{"OpenAI-Organization": "org-1"} },
		Request:  &llm.Request{Model: "smart", Dialect: llm.DialectOpenAI, Raw: []byte(`{"model":"smart",  "messages":[{"role":"user","content":"hi"}],"logit_bias":{"50256":-100},"x_vendor":{"a":[1, 2.50]},"seed":7}`)},
		WantBody: `{"model":"gpt-4o-mini",  "messages":[{"role":"user","content":"hi"}],"logit_bias":{"50256":-100},"x_vendor":{"a":[1, 2.50]},"seed":7}`,
		WantPath: "/v1/chat/completions",
		WantHeader: map[string]string{
			"Authorization":       "Bearer " + testKey,
			"Content-Type":        "application/json",
			"OpenAI-Organization": "org-1", // the configured extra header
			"api-key":             "",
		},
		Want: &llm.Response{
			ID: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", Model: "gpt-4o-mini-2024-07-18", Created: 1741569952,
			Text: "Hello! How can I assist you today?", FinishReason: llm.FinishStop,
			Usage: llm.Usage{InputTokens: 19, OutputTokens: 10}, Raw: providertest.Fixture(t, "chat_text.json"), Dialect: llm.DialectOpenAI,
		},
	})
}

func TestChatPassthroughTurnsStreamOff(t *testing.T) {
	srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "chat_text.json"})
	req := &llm.Request{Dialect: llm.DialectOpenAI, Raw: []byte(`{"model":"m","stream":true,"messages":[]}`)}
	if _, err := newClient(srv, nil).Chat(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if b := string(providertest.Receive(t, got).Body); b != `{"model":"gpt-4o-mini","stream":false,"messages":[]}` {
		t.Errorf("got body %s, want stream false", b)
	}
}

func TestChatToolCallsResponse(t *testing.T) {
	srv, _ := providertest.Upstream(t, providertest.Reply{Fixture: "chat_tool_calls.json"})
	req := &llm.Request{Dialect: llm.DialectOpenAI, Raw: []byte(`{"model":"m","messages":[]}`)}
	resp, err := newClient(srv, nil).Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	wantCalls := []llm.ToolCall{{ID: "call_abc123", Name: "get_current_weather", Arguments: "{\n\"location\": \"Boston, MA\"\n}"}}
	if diff := cmp.Diff(wantCalls, resp.ToolCalls); diff != "" {
		t.Errorf("tool calls mismatch (-want +got):\n%s", diff)
	}
	if resp.FinishReason != llm.FinishToolCalls || resp.Text != "" {
		t.Errorf("got finish %q text %q, want tool_calls and empty text", resp.FinishReason, resp.Text)
	}
	if want := (llm.Usage{InputTokens: 82, CachedInputTokens: 64, OutputTokens: 17}); resp.Usage != want {
		t.Errorf("usage %+v, want %+v (prompt_tokens_details.cached_tokens read)", resp.Usage, want)
	}
}

// TestChatRefusalResponse: a refusal (content null) is the answer's text
// with a content_filter finish, so a translated client sees it.
func TestChatRefusalResponse(t *testing.T) {
	srv, _ := providertest.Upstream(t, providertest.Reply{Fixture: "chat_refusal.json"})
	req := &llm.Request{Dialect: llm.DialectOpenAI, Raw: []byte(`{"model":"m","messages":[]}`)}
	resp, err := newClient(srv, nil).Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "I'm sorry, I can't assist with that request." || resp.FinishReason != llm.FinishContentFilter {
		t.Errorf("got text %q finish %q, want the refusal and content_filter", resp.Text, resp.FinishReason)
	}
}

func TestAzureLayout(t *testing.T) {
	tests := []struct {
		name, version, wantQuery string
	}{
		{"default version", "", "api-version=" + DefaultAzureAPIVersion},
		{"configured version", "2025-01-01-preview", "api-version=2025-01-01-preview"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "chat_text.json"})
			c := New(provider.Config{BaseURL: srv.URL + "/", APIKey: testKey, Model: "gpt4o-prod", Azure: true,
				APIVersion: tt.version, HTTPClient: srv.Client()})
			req := &llm.Request{Dialect: llm.DialectOpenAI, Raw: []byte(`{"model":"m","messages":[]}`)}
			if _, err := c.Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			up := providertest.Receive(t, got)
			if up.Path != "/openai/deployments/gpt4o-prod/chat/completions" || up.Query != tt.wantQuery {
				t.Errorf("got %s?%s, want /openai/deployments/gpt4o-prod/chat/completions?%s", up.Path, up.Query, tt.wantQuery)
			}
			if up.Header.Get("api-key") != testKey || up.Header.Get("Authorization") != "" {
				t.Errorf("got api-key %q authorization %q, want the key in api-key only",
					up.Header.Get("api-key"), up.Header.Get("Authorization"))
			}
		})
	}
}

func TestTranslateCanonical(t *testing.T) {
	body := &llm.Body{
		System: "be brief",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hello"}}},
			{Role: llm.RoleUser, Parts: []llm.Part{
				{Type: llm.PartText, Text: "what is this?"},
				{Type: llm.PartImage, ImageURL: "data:image/png;base64,iVBORw0KGgo="},
			}},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "lookup", Arguments: `{"q":"x"}`}, {ID: "call_2", Name: "now"}}},
			{Role: llm.RoleTool, ToolCallID: "call_1", Parts: []llm.Part{{Type: llm.PartText, Text: "result"}}},
			{Role: llm.RoleTool, ToolCallID: "call_2", Parts: []llm.Part{{Type: llm.PartText, Text: "12:00"}, {Type: llm.PartText, Text: "UTC"}}},
			{Role: llm.RoleTool, ToolCallID: "call_3", IsError: true, Parts: []llm.Part{{Type: llm.PartText, Text: "timeout"}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "done"}}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "Translate this:"}, {Type: llm.PartText, Text: "Bonjour"}}},
		},
		Temperature:    new(0.5),
		TopP:           new(0.9),
		Stop:           []string{"END"},
		Tools:          []llm.Tool{{Name: "lookup", Description: "look up", Parameters: json.RawMessage(`{"type":"object","properties":{"q":{"type":"string"}}}`)}},
		ToolChoice:     &llm.ToolChoice{Mode: "tool", Name: "lookup"},
		ResponseFormat: json.RawMessage(`{"type":"json_object"}`),
		User:           "u-1",
	}
	tests := []struct {
		name      string
		stream    bool
		maxTokens int
		want      string
	}{
		{"non-streaming with max_tokens", false, 256, `{
			"model":"gpt-4o-mini",
			"messages":[
				{"role":"system","content":"be brief"},
				{"role":"user","content":"hello"},
				{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},
				{"role":"assistant","content":null,"tool_calls":[
					{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"x\"}"}},
					{"id":"call_2","type":"function","function":{"name":"now","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"call_1","content":"result"},
				{"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"12:00"},{"type":"text","text":"UTC"}]},
				{"role":"tool","tool_call_id":"call_3","content":"Error: timeout"},
				{"role":"assistant","content":"done"},
				{"role":"user","content":[{"type":"text","text":"Translate this:"},{"type":"text","text":"Bonjour"}]}
			],
			"max_tokens":256,"temperature":0.5,"top_p":0.9,"stop":["END"],
			"tools":[{"type":"function","function":{"name":"lookup","description":"look up","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}],
			"tool_choice":{"type":"function","function":{"name":"lookup"}},
			"response_format":{"type":"json_object"},
			"user":"u-1"}`},
		{"streaming without max_tokens", true, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "chat_text.json"})
			req := &llm.Request{Dialect: llm.DialectAnthropic, Raw: []byte(`{"ignored":true}`), MaxTokens: tt.maxTokens}
			req.SetBody(body)
			c := newClient(srv, nil)
			if tt.stream {
				s, err := c.ChatStream(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				_ = s.Close()
				var m map[string]any
				if err := json.Unmarshal(providertest.Receive(t, got).Body, &m); err != nil {
					t.Fatal(err)
				}
				if m["stream"] != true || !cmp.Equal(m["stream_options"], map[string]any{"include_usage": true}) {
					t.Errorf("got stream %v stream_options %v, want true and include_usage", m["stream"], m["stream_options"])
				}
				if _, ok := m["max_tokens"]; ok {
					t.Errorf("got max_tokens %v, want it absent", m["max_tokens"])
				}
				return
			}
			if _, err := c.Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if diff := providertest.JSONDiff(t, tt.want, providertest.Receive(t, got).Body); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTranslateToolResultImages: a Chat Completions tool message carries
// only text, so the images of tool results (an Anthropic client's
// tool_result may hold some) follow the run of tool messages in a user
// message, labelled with their call's id, rather than being lost.
func TestTranslateToolResultImages(t *testing.T) {
	const png, jpg = "data:image/png;base64,iVBORw0KGgo=", "data:image/jpeg;base64,/9j/4AAQ"
	calls := llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "chart", Arguments: "{}"}, {ID: "call_2", Name: "photo", Arguments: "{}"}}}
	results := []llm.Message{
		{Role: llm.RoleTool, ToolCallID: "call_1", Parts: []llm.Part{{Type: llm.PartText, Text: "the chart"}, {Type: llm.PartImage, ImageURL: png}}},
		{Role: llm.RoleTool, ToolCallID: "call_2", Parts: []llm.Part{{Type: llm.PartImage, ImageURL: jpg}}},
	}
	const toolMsgs = `
		{"role":"assistant","content":null,"tool_calls":[
			{"id":"call_1","type":"function","function":{"name":"chart","arguments":"{}"}},
			{"id":"call_2","type":"function","function":{"name":"photo","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":"the chart"},
		{"role":"tool","tool_call_id":"call_2","content":""},
		{"role":"user","content":[
			{"type":"text","text":"Images from tool result call_1:"},
			{"type":"image_url","image_url":{"url":"` + png + `"}},
			{"type":"text","text":"Images from tool result call_2:"},
			{"type":"image_url","image_url":{"url":"` + jpg + `"}}]}`
	tests := []struct {
		name string
		msgs []llm.Message
		want string
	}{
		{"before the next message",
			append(append([]llm.Message{calls}, results...), llm.Message{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "compare them"}}}),
			`[` + toolMsgs + `,{"role":"user","content":"compare them"}]`},
		{"at the end", append([]llm.Message{calls}, results...), `[` + toolMsgs + `]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "chat_text.json"})
			req := &llm.Request{Dialect: llm.DialectAnthropic, Raw: []byte(`{"ignored":true}`)}
			req.SetBody(&llm.Body{Messages: tt.msgs})
			if _, err := newClient(srv, nil).Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			msgs := gjson.GetBytes(providertest.Receive(t, got).Body, "messages").Raw
			if diff := providertest.JSONDiff(t, tt.want, []byte(msgs)); diff != "" {
				t.Errorf("messages mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTranslateToolChoiceModes(t *testing.T) {
	for _, mode := range []string{"auto", "none", "required"} {
		t.Run(mode, func(t *testing.T) {
			srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "chat_text.json"})
			req := &llm.Request{}
			req.SetBody(&llm.Body{ToolChoice: &llm.ToolChoice{Mode: mode}})
			if _, err := newClient(srv, nil).Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			_ = json.Unmarshal(providertest.Receive(t, got).Body, &m)
			if m["tool_choice"] != mode {
				t.Errorf("got tool_choice %v, want %q", m["tool_choice"], mode)
			}
		})
	}
}

func TestEmbed(t *testing.T) {
	srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "embeddings.json"})
	req := &llm.EmbedRequest{Model: "embed", Raw: []byte(`{"model":"embed","input":["a b c"],"dimensions":3}`)}
	resp, err := newClient(srv, func(cfg *provider.Config) { cfg.Model = "text-embedding-3-small" }).Embed(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	up := providertest.Receive(t, got)
	if up.Path != "/v1/embeddings" || string(up.Body) != `{"model":"text-embedding-3-small","input":["a b c"],"dimensions":3}` {
		t.Errorf("got %s %s, want /v1/embeddings with only model rewritten", up.Path, up.Body)
	}
	if resp.Usage.InputTokens != 8 || resp.Model != "text-embedding-3-small" || string(resp.Raw) != string(providertest.Fixture(t, "embeddings.json")) {
		t.Errorf("got %+v, want 8 input tokens, model and raw body", resp)
	}
}

// TestEmbedCountMismatchFails: an answer with another number of
// embeddings than the request's inputs is the provider failing.
func TestEmbedCountMismatchFails(t *testing.T) {
	srv, _ := providertest.Upstream(t, providertest.Reply{Fixture: "embeddings.json"}) // one embedding
	req := &llm.EmbedRequest{Model: "embed", Inputs: 2, Raw: []byte(`{"model":"embed","input":["a","b"]}`)}
	_, err := newClient(srv, nil).Embed(context.Background(), req)
	if provider.KindOf(err) != provider.KindUnavailable || !strings.Contains(err.Error(), "1 embeddings for 2 inputs") {
		t.Errorf("got %v, want an unavailable error naming the counts", err)
	}
}

// TestModerate: a moderations request is relayed to /moderations with only
// model rewritten and its answer kept verbatim; an answer without results
// is the provider failing; Azure has no such endpoint.
func TestModerate(t *testing.T) {
	answer := `{"id":"modr-1","model":"omni-moderation-2024-09-26","results":[{"flagged":false}]}`
	srv, got := providertest.Upstream(t, providertest.Reply{Body: answer})
	req := &llm.ModerationRequest{Raw: []byte(`{"input":"hi","model":"mod","extra":1}`)}
	resp, err := newClient(srv, func(cfg *provider.Config) { cfg.Model = "omni-moderation-latest" }).Moderate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	up := providertest.Receive(t, got)
	if up.Path != "/v1/moderations" || string(up.Body) != `{"input":"hi","model":"omni-moderation-latest","extra":1}` {
		t.Errorf("got %s %s, want /v1/moderations with only model rewritten", up.Path, up.Body)
	}
	if resp.Model != "omni-moderation-2024-09-26" || string(resp.Raw) != answer {
		t.Errorf("got %+v, want the answer verbatim", resp)
	}

	for _, body := range []string{`{"id":"modr-1"}`, `{"id":"modr-1","results":[{"flagged":false},{"fla`} {
		bad, _ := providertest.Upstream(t, providertest.Reply{Body: body})
		if _, err := newClient(bad, nil).Moderate(context.Background(), req); provider.KindOf(err) != provider.KindUnavailable {
			t.Errorf("%s: %v, want unavailable", body, err)
		}
	}
	if _, err := newClient(srv, func(cfg *provider.Config) { cfg.Azure = true }).Moderate(context.Background(), req); provider.KindOf(err) != provider.KindNotFound {
		t.Errorf("azure: %v, want not found", err)
	}
}

// TestGenerateImages: an image generation request is relayed to
// /images/generations (Azure: the deployment's path) with only model
// rewritten; the answer's images are counted and its usage read where
// there is one; an answer without images is the provider failing.
func TestGenerateImages(t *testing.T) {
	answer := `{"created":1,"data":[{"b64_json":"AA=="},{"b64_json":"AQ=="}],"usage":{"input_tokens":9,"output_tokens":2112,"total_tokens":2121}}`
	srv, got := providertest.Upstream(t, providertest.Reply{Body: answer})
	req := &llm.ImageRequest{Raw: []byte(`{"prompt":"a train","n":2,"model":"img"}`), N: 2}
	resp, err := newClient(srv, func(cfg *provider.Config) { cfg.Model = "gpt-image-1" }).GenerateImages(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	up := providertest.Receive(t, got)
	if up.Path != "/v1/images/generations" || string(up.Body) != `{"prompt":"a train","n":2,"model":"gpt-image-1"}` {
		t.Errorf("got %s %s, want /v1/images/generations with only model rewritten", up.Path, up.Body)
	}
	if resp.Images != 2 || resp.Usage.InputTokens != 9 || resp.Usage.OutputTokens != 2112 || string(resp.Raw) != answer {
		t.Errorf("got %+v, want 2 images, the usage and the answer verbatim", resp)
	}

	dalle, got := providertest.Upstream(t, providertest.Reply{Body: `{"created":1,"data":[{"url":"https://example.invalid/a.png"}]}`})
	resp, err = newClient(dalle, func(cfg *provider.Config) { cfg.Azure, cfg.Model = true, "dalle3" }).GenerateImages(context.Background(), req)
	if err != nil || resp.Images != 1 || resp.Usage != (llm.Usage{}) {
		t.Fatalf("dall-e on azure: %+v, %v", resp, err)
	}
	if up := providertest.Receive(t, got); !strings.HasSuffix(up.Path, "/openai/deployments/dalle3/images/generations") || !strings.Contains(up.Query, "api-version=") {
		t.Errorf("azure path %s", up.Path)
	}

	for _, body := range []string{`{"created":1,"data":[]}`, `{"created":1}`, `not json`, `{"created":1,"data":[{"b64_json":"AA=="},{"b64_js`} {
		bad, _ := providertest.Upstream(t, providertest.Reply{Body: body})
		if _, err := newClient(bad, nil).GenerateImages(context.Background(), req); provider.KindOf(err) != provider.KindUnavailable {
			t.Errorf("%s: %v, want unavailable", body, err)
		}
	}
}

// TestChatWithoutChoicesFails: a 200 whose body has no choice to answer
// with is an unavailable upstream (the executor fails over), never an
// empty success.
func TestChatWithoutChoicesFails(t *testing.T) {
	for _, body := range []string{
		`{"id":"x","object":"chat.completion","model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":0}}`,
		`{"id":"x","object":"chat.completion","model":"m"}`,
		`{"id":"x","choices":null}`,
	} {
		srv, _ := providertest.Upstream(t, providertest.Reply{Body: body})
		req := &llm.Request{Dialect: llm.DialectOpenAI, Raw: []byte(`{"model":"m","messages":[]}`)}
		resp, err := newClient(srv, nil).Chat(context.Background(), req)
		if provider.KindOf(err) != provider.KindUnavailable {
			t.Errorf("%s: got %+v, %v; want an unavailable error", body, resp, err)
		}
	}
}

// TestChatUnfinishedChoiceFails: a non-streamed answer holding a choice
// without its finish_reason (null, missing, empty) was not finished: an
// unavailable upstream that fails over, not an answer a translated
// client reads as ended (end_turn). One whose choices each finished is an
// answer.
func TestChatUnfinishedChoiceFails(t *testing.T) {
	tests := []struct {
		name    string
		dialect llm.Dialect
		body    string
		wantErr bool
	}{
		{"null", llm.DialectOpenAI, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Partial"},"finish_reason":null}]}`, true},
		{"missing", llm.DialectOpenAI, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Partial"}}]}`, true},
		{"empty", llm.DialectOpenAI, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Partial"},"finish_reason":""}]}`, true},
		{"n=2, the second unfinished", llm.DialectOpenAI, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"a"},"finish_reason":"stop"},{"index":1,"message":{"role":"assistant","content":"b"},"finish_reason":null}]}`, true},
		{"n=2, both finished", llm.DialectOpenAI, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"a"},"finish_reason":"stop"},{"index":1,"message":{"role":"assistant","content":"b"},"finish_reason":"length"}]}`, false},
		{"legacy completion, null", llm.DialectOpenAICompletions, `{"id":"x","object":"text_completion","model":"m","choices":[{"index":0,"text":"Partial","finish_reason":null}]}`, true},
		{"legacy completion, finished", llm.DialectOpenAICompletions, `{"id":"x","object":"text_completion","model":"m","choices":[{"index":0,"text":"Done.","finish_reason":"stop"}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := providertest.Upstream(t, providertest.Reply{Body: tt.body})
			req := &llm.Request{Dialect: tt.dialect, Raw: []byte(`{"model":"m","messages":[]}`)}
			resp, err := newClient(srv, nil).Chat(context.Background(), req)
			switch {
			case tt.wantErr && provider.KindOf(err) != provider.KindUnavailable:
				t.Errorf("got %+v, %v; want an unavailable error", resp, err)
			case !tt.wantErr && (err != nil || resp.FinishReason == ""):
				t.Errorf("got %+v, %v; want an answer with its finish reason", resp, err)
			}
		})
	}
}
