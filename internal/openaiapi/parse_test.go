package openaiapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/dialecttest"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

func TestParseChatFeatures(t *testing.T) {
	dialecttest.ParseFeatures(t, dialect, []dialecttest.FeaturesCase{
		{
			Name: "minimal",
			Body: `{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}`,
			Want: dialecttest.Features{Model: "gpt-4o", NumMessages: 1, LastUserText: "hello", TextBytes: 5},
		},
		{
			Name: "stream with usage and max_tokens",
			Body: `{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`,
			Want: dialecttest.Features{Model: "m", Stream: true, IncludeUsage: true, MaxTokens: 100, NumMessages: 1, LastUserText: "hi", TextBytes: 2},
		},
		{
			Name: "max_completion_tokens wins over max_tokens",
			Body: `{"max_completion_tokens":50,"model":"m","max_tokens":100,"messages":[{"role":"user","content":"x"}]}`,
			Want: dialecttest.Features{Model: "m", MaxTokens: 50, NumMessages: 1, LastUserText: "x", TextBytes: 1},
		},
		{
			Name: "system, developer, parts, image, last user",
			Body: `{"model":"m","messages":[
				{"role":"system","content":"be brief"},
				{"role":"developer","content":[{"type":"text","text":"no lists"}]},
				{"role":"user","content":"first"},
				{"role":"assistant","content":"ok"},
				{"role":"user","content":[{"type":"text","text":"what is "},{"type":"image_url","image_url":{"url":"https://x/y.png"}},{"type":"text","text":"this"}]}]}`,
			Want: dialecttest.Features{Model: "m", HasImages: true, NumMessages: 5, SystemText: "be brief\n\nno lists",
				LastUserText: "what is this", TextBytes: 8 + 8 + 5 + 2 + 12},
		},
		{
			Name: "tools, json mode, metadata, tool calls",
			Body: `{"model":"m","tools":[{"type":"function","function":{"name":"f"}}],"response_format":{"type":"json_schema","json_schema":{"name":"x"}},
				"metadata":{"team":"a"},"messages":[{"role":"user","content":"q"},
				{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"c1","content":"42"}]}`,
			Want: dialecttest.Features{Model: "m", HasTools: true, JSON: true, NumMessages: 3, LastUserText: "q",
				TextBytes: len(`{"type":"function","function":{"name":"f"}}`) + 1 + 2 + 2, Metadata: map[string]string{"team": "a"}},
		},
		{
			Name: "json_object mode, empty tools, null fields",
			Body: `{"model":"m","tools":[],"response_format":{"type":"json_object"},"stream":null,"max_tokens":null,"messages":[{"role":"user","content":"q"}]}`,
			Want: dialecttest.Features{Model: "m", JSON: true, NumMessages: 1, LastUserText: "q", TextBytes: 1},
		},
		{
			Name: "text response format is not json mode",
			Body: `{"model":"m","response_format":{"type":"text"},"messages":[{"role":"user","content":"q"}]}`,
			Want: dialecttest.Features{Model: "m", NumMessages: 1, LastUserText: "q", TextBytes: 1},
		},
	})
}

func TestParseChatErrors(t *testing.T) {
	dialecttest.ParseErrors(t, dialect, []dialecttest.BadRequestCase{
		{Name: "not json", Body: `{"model":`, Param: ""},
		// JSON text must be UTF-8 (RFC 8259): relayed, the bytes would
		// reach the upstream as sent, translated as U+FFFD (audit AO2).
		{Name: "not UTF-8", Body: "{\"model\":\"m\",\"max_tokens\":9,\"messages\":[{\"role\":\"user\",\"content\":\"caf\xe9\"}]}", Param: ""},
		{Name: "not an object", Body: `["model"]`, Param: ""},
		{Name: "missing model", Body: `{"messages":[{"role":"user","content":"x"}]}`, Param: "model"},
		{Name: "empty model", Body: `{"model":"","messages":[{"role":"user","content":"x"}]}`, Param: "model"},
		{Name: "model not string", Body: `{"model":4,"messages":[{"role":"user","content":"x"}]}`, Param: "model"},
		{Name: "missing messages", Body: `{"model":"m"}`, Param: "messages"},
		{Name: "messages not array", Body: `{"model":"m","messages":{}}`, Param: "messages"},
		{Name: "empty messages", Body: `{"model":"m","messages":[]}`, Param: "messages"},
		{Name: "message not object", Body: `{"model":"m","messages":["hi"]}`, Param: "messages[0]"},
		{Name: "missing role", Body: `{"model":"m","messages":[{"content":"x"}]}`, Param: "messages[0].role"},
		{Name: "bad role", Body: `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"robot","content":"x"}]}`, Param: "messages[1].role"},
		{Name: "content number", Body: `{"model":"m","messages":[{"role":"user","content":5}]}`, Param: "messages[0].content"},
		{Name: "part not object", Body: `{"model":"m","messages":[{"role":"user","content":["x"]}]}`, Param: "messages[0].content[0]"},
		{Name: "stream not bool", Body: `{"model":"m","stream":"yes","messages":[{"role":"user","content":"x"}]}`, Param: "stream"},
		{Name: "stream_options not object", Body: `{"model":"m","stream_options":true,"messages":[{"role":"user","content":"x"}]}`, Param: "stream_options"},
		{Name: "include_usage not bool", Body: `{"model":"m","stream_options":{"include_usage":1},"messages":[{"role":"user","content":"x"}]}`, Param: "stream_options.include_usage"},
		{Name: "n above 128", Body: `{"model":"m","n":129,"messages":[{"role":"user","content":"x"}]}`, Param: "n"},
		{Name: "n huge", Body: `{"model":"m","n":2147483647,"max_tokens":100000,"messages":[{"role":"user","content":"x"}]}`, Param: "n"},
		{Name: "n zero", Body: `{"model":"m","n":0,"messages":[{"role":"user","content":"x"}]}`, Param: "n"},
		{Name: "max_tokens negative", Body: `{"model":"m","max_tokens":-1,"messages":[{"role":"user","content":"x"}]}`, Param: "max_tokens"},
		{Name: "max_tokens fraction", Body: `{"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"x"}]}`, Param: "max_tokens"},
		{Name: "max_completion_tokens string", Body: `{"model":"m","max_completion_tokens":"9","messages":[{"role":"user","content":"x"}]}`, Param: "max_completion_tokens"},
		{Name: "tools not array", Body: `{"model":"m","tools":{},"messages":[{"role":"user","content":"x"}]}`, Param: "tools"},
		{Name: "response_format not object", Body: `{"model":"m","response_format":"json","messages":[{"role":"user","content":"x"}]}`, Param: "response_format"},
		{Name: "metadata not object", Body: `{"model":"m","metadata":[],"messages":[{"role":"user","content":"x"}]}`, Param: "metadata"},
		// OpenAI's bounds, which a translated request is held to too
		// (found by audit X).
		{Name: "metadata of 17 pairs", Body: `{"model":"m","metadata":{"a":"1","b":"1","c":"1","d":"1","e":"1","f":"1","g":"1","h":"1","i":"1","j":"1","k":"1","l":"1","m":"1","n":"1","o":"1","p":"1","q":"1"},"messages":[{"role":"user","content":"x"}]}`, Param: "metadata"},
		{Name: "metadata key of 65 characters", Body: `{"model":"m","metadata":{"` + strings.Repeat("k", 65) + `":"v"},"messages":[{"role":"user","content":"x"}]}`, Param: "metadata"},
		// OpenAI refuses a value that is not a string; a translation
		// would drop it, so the gateway refuses it for every provider
		// (audit AM4).
		{Name: "metadata value a number", Body: `{"model":"m","metadata":{"k":1},"messages":[{"role":"user","content":"x"}]}`, Param: "metadata.k"},
		{Name: "metadata value null", Body: `{"model":"m","metadata":{"a":"b","k":null},"messages":[{"role":"user","content":"x"}]}`, Param: "metadata.k"},
		{Name: "metadata value an object", Body: `{"model":"m","metadata":{"k":{}},"messages":[{"role":"user","content":"x"}]}`, Param: "metadata.k"},
		{Name: "metadata value of 513 characters", Body: `{"model":"m","metadata":{"k":"` + strings.Repeat("v", 513) + `"},"messages":[{"role":"user","content":"x"}]}`, Param: "metadata"},
	})
}

func TestDecodeFull(t *testing.T) {
	want := &llm.Body{
		System: "sys",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "look"}, {Type: llm.PartImage, ImageURL: "data:image/png;base64,AAAA"}}},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
			{Role: llm.RoleTool, ToolCallID: "call_1", Parts: []llm.Part{{Type: llm.PartText, Text: "sunny"}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "It is sunny."}}},
		},
		Temperature:     new(0.2),
		TopP:            new(0.9),
		Stop:            []string{"END"},
		Tools:           []llm.Tool{{Name: "get_weather", Description: "Weather", Parameters: []byte(`{"type":"object"}`)}},
		ToolChoice:      &llm.ToolChoice{Mode: "tool", Name: "get_weather"},
		ResponseFormat:  []byte(`{"type":"json_object"}`),
		User:            "u-1",
		ReasoningEffort: "high",
		ServiceTier:     "priority",
	}
	dialecttest.DecodeBody(t, dialect, []dialecttest.DecodeCase{{
		Name: "every field",
		Body: `{"model":"m","temperature":0.2,"top_p":0.9,"stop":"END","user":"u-1","reasoning_effort":"high","service_tier":"priority",
			"response_format":{"type":"json_object"},
			"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object"}}}],
			"tool_choice":{"type":"function","function":{"name":"get_weather"}},
			"messages":[
			{"role":"system","content":"sys"},
			{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},
			{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
			{"role":"tool","tool_call_id":"call_1","content":"sunny"},
			{"role":"assistant","content":[{"type":"text","text":"It is sunny."}]}]}`,
		Check: func(b *llm.Body) string { return cmp.Diff(want, b) },
	}})
}

func TestDecodeFullVariants(t *testing.T) {
	body := func(extra string) string {
		return `{"model":"m","messages":[{"role":"user","content":"x"}],` + extra + `}`
	}
	// want checks the stop sequences and the tool choice.
	want := func(stop []string, tc *llm.ToolChoice) func(*llm.Body) string {
		return func(b *llm.Body) string { return cmp.Diff(stop, b.Stop) + cmp.Diff(tc, b.ToolChoice) }
	}
	dialecttest.DecodeBody(t, dialect, []dialecttest.DecodeCase{
		{Name: "stop array", Body: body(`"stop":["a","b"]`), Check: want([]string{"a", "b"}, nil)},
		{Name: "tool_choice required", Body: body(`"tool_choice":"required"`), Check: want(nil, &llm.ToolChoice{Mode: "required"})},
		{Name: "tool_choice bad", Body: body(`"tool_choice":"sometimes"`), Param: "tool_choice"},
		{Name: "stop bad", Body: body(`"stop":5`), Param: "stop"},
		// Shapes of answer a translated deployment cannot give.
		{Name: "n of 3 streamed rejected", Body: body(`"n":3,"stream":true`), Param: "n"},
		{Name: "n of 17 rejected", Body: body(`"n":17`), Param: "n"},
		{Name: "n of 16 fine", Body: body(`"n":16`), Check: want(nil, nil)},
		{Name: "n of 1 fine", Body: body(`"n":1,"stream":true`), Check: want(nil, nil)},
		{Name: "logprobs rejected", Body: body(`"logprobs":true`), Param: "logprobs"},
		{Name: "top_logprobs rejected", Body: body(`"logprobs":true,"top_logprobs":2`), Param: "logprobs"},
		{Name: "logprobs false fine", Body: body(`"logprobs":false`), Check: want(nil, nil)},
		{Name: "top_logprobs 0 fine", Body: body(`"top_logprobs":0`), Check: want(nil, nil)},
		// An assistant turn OpenAI answered with a refusal (content null)
		// says the refusal: it is the turn's text, not an empty turn.
		{
			Name: "refusal is the assistant's text",
			Body: `{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"refusal":"I cannot help with that"},{"role":"user","content":"q2"}]}`,
			Check: func(b *llm.Body) string {
				return cmp.Diff(llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "I cannot help with that"}}}, b.Messages[1])
			},
		},
		// Audio passes the lean parse, for same-dialect passthrough, but the
		// canonical form cannot carry it.
		{
			Name:  "audio rejected",
			Body:  `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}]}`,
			Param: "messages[0].content[0].type",
		},
	})
}

func TestParseEmbeddings(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantBytes int
		wantN     int
		wantParam string
	}{
		{name: "string", body: `{"model":"e","input":"hello"}`, wantBytes: 5, wantN: 1},
		{name: "strings", body: `{"model":"e","input":["ab","cde"]}`, wantBytes: 5, wantN: 2},
		{name: "tokens", body: `{"model":"e","input":[1,2,3]}`, wantBytes: 12, wantN: 1},
		{name: "token arrays", body: `{"model":"e","input":[[1,2],[3]]}`, wantBytes: 12, wantN: 2},
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
			if got.Model != "e" || got.InputBytes != tt.wantBytes || got.Inputs != tt.wantN || string(got.Raw) != tt.body {
				t.Errorf("got model %q bytes %d inputs %d, want e, %d and %d", got.Model, got.InputBytes, got.Inputs, tt.wantBytes, tt.wantN)
			}
		})
	}
}

func FuzzParseChat(f *testing.F) {
	dialecttest.FuzzParseChat(f, dialect, []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}`,
		`{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":10,"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}}]}]}`,
		`{"model":"m","tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":"auto","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"r"}]}`,
		`{"model":"m","stop":["x"],"response_format":{"type":"json_object"},"metadata":{"a":"b"},"messages":[{"role":"user","content":"x"}]}`,
		`{}`, `[]`, `"x"`, `{"model":1}`,
	})
}

// TestParseChatChoices: n is read without decoding the body, for an
// adapter that answers n choices with n calls; it must be a positive
// integer.
func TestParseChatChoices(t *testing.T) {
	for body, want := range map[string]int{`"n":3`: 3, `"n":null`: 0, `"n":1`: 1} {
		req, err := ParseChat([]byte(`{"model":"m",` + body + `,"messages":[{"role":"user","content":"x"}]}`))
		if err != nil || req.Choices != want {
			t.Errorf("%s: got %v, %v; want %d choices", body, req, err, want)
		}
	}
	for _, body := range []string{`"n":0`, `"n":2.5`, `"n":"2"`} {
		var bre *BadRequestError
		if _, err := ParseChat([]byte(`{"model":"m",` + body + `,"messages":[{"role":"user","content":"x"}]}`)); !errors.As(err, &bre) || bre.Param != "n" {
			t.Errorf("%s: got %v, want a bad request on n", body, err)
		}
	}
}

// TestParseChatRelayOnly: custom tools and an allowed_tools or custom
// tool_choice, which no translation carries, mark the request for OpenAI
// deployments only; function tools and choices do not.
func TestParseChatRelayOnly(t *testing.T) {
	const fn = `{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}`
	for _, tt := range []struct{ name, extra, want string }{
		{"function tools", `"tools":[` + fn + `],"tool_choice":{"type":"function","function":{"name":"f"}}`, ""},
		{"untyped tool choice", `"tools":[` + fn + `],"tool_choice":{"function":{"name":"f"}}`, ""},
		{"mode tool choice", `"tools":[` + fn + `],"tool_choice":"required"`, ""},
		{"legacy functions", `"functions":[{"name":"f"}]`, ""},
		{"custom tool", `"tools":[` + fn + `,{"type":"custom","custom":{"name":"code"}}]`, `tools of type "custom"`},
		{"allowed tools", `"tools":[` + fn + `],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[` + fn + `]}}`, `tool_choice of type "allowed_tools"`},
		{"custom tool choice", `"tool_choice":{"type":"custom","custom":{"name":"code"}}`, `tool_choice of type "custom"`},
	} {
		req, err := ParseChat([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],` + tt.extra + `}`))
		if err != nil || req.RelayOnly != tt.want {
			t.Errorf("%s: got relay-only %q (%v), want %q", tt.name, req.RelayOnly, err, tt.want)
		}
	}
}
