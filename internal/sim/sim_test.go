package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testModel is a fast model for tests.
func testModel(name string) Model {
	return Model{Name: name, OutputTokens: 8, ContextWindow: 1000}
}

// startSim starts a server for the test and stops it when the test ends.
func startSim(t *testing.T, cfg Config, opts ...Option) (*Server, string, *http.Client) {
	t.Helper()
	s, url, stop, err := Start(cfg, opts...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		stop()
	})
	return s, url, client
}

// post sends a JSON body and returns the response; the caller closes it.
func post(t *testing.T, ctx context.Context, c *http.Client, url string, body any, headers ...string) *http.Response {
	t.Helper()
	b, ok := body.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return resp
}

// decode reads a JSON response body into a generic map.
func decode(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("decode response (status %d): %v", resp.StatusCode, err)
	}
	return m
}

// get walks a decoded JSON value by keys and indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// event is one server-sent event.
type event struct {
	name, data string
}

// readEvents reads SSE events until the body ends; err is the read error
// (nil on a clean EOF).
func readEvents(body io.Reader) ([]event, error) {
	var evs []event
	var cur event
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.data != "" || cur.name != "" {
				evs = append(evs, cur)
			}
			cur = event{}
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		}
	}
	return evs, sc.Err()
}

func oaChat(model, text string) map[string]any {
	return map[string]any{"model": model, "messages": []any{map[string]any{"role": "user", "content": text}}}
}

func anChat(model, text string) map[string]any {
	return map[string]any{"model": model, "max_tokens": 100, "messages": []any{map[string]any{"role": "user", "content": text}}}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestChatNonStreaming(t *testing.T) {
	_, url, c := startSim(t, Config{Models: []Model{testModel("m")}})
	ctx := t.Context()
	long := strings.Repeat("abcd", 25) // 100 bytes: 25 tokens plus role text
	tests := []struct {
		name       string
		path       string
		body       map[string]any
		wantText   func(map[string]any) any
		wantReason func(map[string]any) any
		reason     string
		inTokens   func(map[string]any) any
		outTokens  func(map[string]any) any
	}{
		{
			name: "openai", path: "/v1/chat/completions", body: oaChat("m", long), reason: "stop",
			wantText:   func(m map[string]any) any { return get(m, "choices", 0, "message", "content") },
			wantReason: func(m map[string]any) any { return get(m, "choices", 0, "finish_reason") },
			inTokens:   func(m map[string]any) any { return get(m, "usage", "prompt_tokens") },
			outTokens:  func(m map[string]any) any { return get(m, "usage", "completion_tokens") },
		},
		{
			name: "anthropic", path: "/v1/messages", body: anChat("m", long), reason: "end_turn",
			wantText:   func(m map[string]any) any { return get(m, "content", 0, "text") },
			wantReason: func(m map[string]any) any { return get(m, "stop_reason") },
			inTokens:   func(m map[string]any) any { return get(m, "usage", "input_tokens") },
			outTokens:  func(m map[string]any) any { return get(m, "usage", "output_tokens") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, ctx, c, url+tt.path, tt.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("got status %d, want 200", resp.StatusCode)
			}
			m := decode(t, resp)
			text, _ := tt.wantText(m).(string)
			if n := len(strings.Fields(text)); n != 8 {
				t.Errorf("got %d words (%q), want 8", n, text)
			}
			if got := tt.wantReason(m); got != tt.reason {
				t.Errorf("got reason %v, want %s", got, tt.reason)
			}
			// "user" + NUL + 100 bytes + NUL = 106 bytes -> 27 tokens.
			if got := tt.inTokens(m); got != float64(27) {
				t.Errorf("got input tokens %v, want 27", got)
			}
			if got := tt.outTokens(m); got != float64(8) {
				t.Errorf("got output tokens %v, want 8", got)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	_, url, c := startSim(t, Config{Models: []Model{testModel("a"), testModel("b")}})
	ctx := t.Context()
	content := func(model, text string) string {
		m := decode(t, post(t, ctx, c, url+"/v1/chat/completions", oaChat(model, text)))
		s, _ := get(m, "choices", 0, "message", "content").(string)
		return s
	}
	first := content("a", "hello there")
	if again := content("a", "hello there"); again != first {
		t.Errorf("same prompt: got %q, want %q", again, first)
	}
	if other := content("b", "hello there"); other != first {
		t.Errorf("same prompt on another model: got %q, want %q", other, first)
	}
	if diff := content("a", "something else"); diff == first {
		t.Errorf("different prompt: got the same answer %q", diff)
	}
	an := decode(t, post(t, ctx, c, url+"/v1/messages", anChat("a", "hello there")))
	if got := get(an, "content", 0, "text"); got != first {
		t.Errorf("anthropic, same prompt: got %q, want %q", got, first)
	}
}

func TestMaxTokens(t *testing.T) {
	_, url, c := startSim(t, Config{Models: []Model{testModel("m")}})
	ctx := t.Context()
	tests := []struct {
		name   string
		path   string
		body   map[string]any
		reason func(map[string]any) any
		want   string
		out    func(map[string]any) any
	}{
		{"openai max_tokens", "/v1/chat/completions", with(oaChat("m", "x"), "max_tokens", 3),
			func(m map[string]any) any { return get(m, "choices", 0, "finish_reason") }, "length",
			func(m map[string]any) any { return get(m, "usage", "completion_tokens") }},
		{"openai max_completion_tokens", "/v1/chat/completions", with(oaChat("m", "x"), "max_completion_tokens", 3),
			func(m map[string]any) any { return get(m, "choices", 0, "finish_reason") }, "length",
			func(m map[string]any) any { return get(m, "usage", "completion_tokens") }},
		{"anthropic", "/v1/messages", with(anChat("m", "x"), "max_tokens", 3),
			func(m map[string]any) any { return get(m, "stop_reason") }, "max_tokens",
			func(m map[string]any) any { return get(m, "usage", "output_tokens") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := decode(t, post(t, ctx, c, url+tt.path, tt.body))
			if got := tt.reason(m); got != tt.want {
				t.Errorf("got reason %v, want %s", got, tt.want)
			}
			if got := tt.out(m); got != float64(3) {
				t.Errorf("got output tokens %v, want 3", got)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	_, url, c := startSim(t, Config{Models: []Model{testModel("m")}})
	ctx := t.Context()
	big := strings.Repeat("word ", 900) // 4500 bytes: over 1000 tokens
	tests := []struct {
		name    string
		path    string
		body    any
		status  int
		errPath []any
		want    string
		msgHas  string
	}{
		{"openai unknown model", "/v1/chat/completions", oaChat("nope", "x"), 404,
			[]any{"error", "code"}, "model_not_found", "`nope` does not exist"},
		{"anthropic unknown model", "/v1/messages", anChat("nope", "x"), 404,
			[]any{"error", "type"}, "not_found_error", "model: nope"},
		{"openai bad json", "/v1/chat/completions", []byte(`{"model":`), 400,
			[]any{"error", "type"}, "invalid_request_error", "could not parse the JSON"},
		{"anthropic bad json", "/v1/messages", []byte(`[1,2`), 400,
			[]any{"error", "type"}, "invalid_request_error", "parsing the body"},
		{"anthropic missing max_tokens", "/v1/messages", map[string]any{"model": "m", "messages": []any{map[string]any{"role": "user", "content": "x"}}}, 400,
			[]any{"error", "type"}, "invalid_request_error", "max_tokens: Field required"},
		{"openai empty messages", "/v1/chat/completions", map[string]any{"model": "m", "messages": []any{}}, 400,
			[]any{"error", "code"}, nil2, "empty array"},
		{"openai context length", "/v1/chat/completions", with(oaChat("m", big), "max_tokens", 10), 400,
			[]any{"error", "code"}, "context_length_exceeded", "maximum context length is 1000 tokens"},
		{"openai context from max_tokens", "/v1/chat/completions", with(oaChat("m", "x"), "max_tokens", 999), 400,
			[]any{"error", "code"}, "context_length_exceeded", "(2 in the messages, 999 in the completion)"},
		{"anthropic prompt too long", "/v1/messages", anChat("m", big), 400,
			[]any{"error", "type"}, "invalid_request_error", "prompt is too long: 1127 tokens > 1000 maximum"},
		{"anthropic input plus max_tokens", "/v1/messages", with(anChat("m", "x"), "max_tokens", 999), 400,
			[]any{"error", "type"}, "invalid_request_error", "exceed context limit: 2 + 999 > 1000"},
		{"anthropic empty assistant turn", "/v1/messages", with(anChat("m", "x"), "messages", []any{
			map[string]any{"role": "user", "content": "x"}, map[string]any{"role": "assistant", "content": []any{}}, map[string]any{"role": "user", "content": "y"}}), 400,
			[]any{"error", "type"}, "invalid_request_error", "messages.1: all messages must have non-empty content except for the optional final assistant message"},
		{"anthropic empty user turn", "/v1/messages", with(anChat("m", "x"), "messages", []any{map[string]any{"role": "user", "content": ""}}), 400,
			[]any{"error", "type"}, "invalid_request_error", "messages.0: all messages must have non-empty content"},
		{"anthropic tool result without tools", "/v1/messages", with(anChat("m", "x"), "messages", []any{
			map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": "t", "content": "x"}}}}), 400,
			[]any{"error", "type"}, "invalid_request_error", "Requests which include `tool_use` or `tool_result` blocks must define tools."},
		{"unknown path", "/v1/nothing", oaChat("m", "x"), 404,
			[]any{"error", "type"}, "invalid_request_error", "Invalid URL (POST /v1/nothing)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, ctx, c, url+tt.path, tt.body, "Authorization", "Bearer sk-ignored")
			if resp.StatusCode != tt.status {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.status)
			}
			m := decode(t, resp)
			if tt.want != nil2 {
				if got := get(m, tt.errPath...); got != tt.want {
					t.Errorf("got %v at %v, want %s", got, tt.errPath, tt.want)
				}
			}
			msg, _ := get(m, "error", "message").(string)
			if !strings.Contains(msg, tt.msgHas) {
				t.Errorf("got message %q, want it to contain %q", msg, tt.msgHas)
			}
			if strings.HasSuffix(tt.path, "messages") && get(m, "type") != "error" {
				t.Errorf("got type %v, want error", get(m, "type"))
			}
		})
	}
}

// nil2 marks a table row whose error code is not checked.
const nil2 = "\x00unchecked"

func TestTools(t *testing.T) {
	_, url, c := startSim(t, Config{Models: []Model{testModel("m")}})
	ctx := t.Context()
	schema := map[string]any{"type": "object", "properties": map[string]any{
		"city": map[string]any{"type": "string"},
		"unit": map[string]any{"type": "string", "enum": []any{"celsius", "fahrenheit"}},
		"days": map[string]any{"type": "integer"},
	}, "required": []any{"city"}}
	oaTools := []any{map[string]any{"type": "function", "function": map[string]any{"name": "get_weather", "parameters": schema}},
		map[string]any{"type": "function", "function": map[string]any{"name": "other"}}}
	anTools := []any{map[string]any{"name": "get_weather", "input_schema": schema}, map[string]any{"name": "other", "input_schema": map[string]any{"type": "object"}}}
	toolResultOA := map[string]any{"model": "m", "tools": oaTools, "messages": []any{
		map[string]any{"role": "user", "content": "weather?"},
		map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"id": "c1", "type": "function", "function": map[string]any{"name": "get_weather", "arguments": "{}"}}}},
		map[string]any{"role": "tool", "tool_call_id": "c1", "content": "sunny"},
	}}
	toolResultAN := map[string]any{"model": "m", "max_tokens": 50, "tools": anTools, "messages": []any{
		map[string]any{"role": "user", "content": "weather?"},
		map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "tool_use", "id": "t1", "name": "get_weather", "input": map[string]any{}}}},
		map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}}},
	}}
	tests := []struct {
		name     string
		path     string
		body     map[string]any
		wantTool string // "" = text answer
		reason   []any
		want     string
		args     func(map[string]any) string
	}{
		{"openai tool call", "/v1/chat/completions", with(oaChat("m", "weather?"), "tools", oaTools), "get_weather",
			[]any{"choices", 0, "finish_reason"}, "tool_calls",
			func(m map[string]any) string {
				s, _ := get(m, "choices", 0, "message", "tool_calls", 0, "function", "arguments").(string)
				return s
			}},
		{"openai named tool", "/v1/chat/completions", with(oaChat("m", "weather?"), "tools", oaTools,
			"tool_choice", map[string]any{"type": "function", "function": map[string]any{"name": "other"}}), "other",
			[]any{"choices", 0, "finish_reason"}, "tool_calls",
			func(m map[string]any) string {
				s, _ := get(m, "choices", 0, "message", "tool_calls", 0, "function", "arguments").(string)
				return s
			}},
		{"openai tool_choice none", "/v1/chat/completions", with(oaChat("m", "weather?"), "tools", oaTools, "tool_choice", "none"), "",
			[]any{"choices", 0, "finish_reason"}, "stop", nil},
		{"openai after tool result", "/v1/chat/completions", toolResultOA, "",
			[]any{"choices", 0, "finish_reason"}, "stop", nil},
		{"anthropic tool use", "/v1/messages", with(anChat("m", "weather?"), "tools", anTools), "get_weather",
			[]any{"stop_reason"}, "tool_use",
			func(m map[string]any) string { b, _ := json.Marshal(get(m, "content", 0, "input")); return string(b) }},
		{"anthropic after tool result", "/v1/messages", toolResultAN, "",
			[]any{"stop_reason"}, "end_turn", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := decode(t, post(t, ctx, c, url+tt.path, tt.body))
			if got := get(m, tt.reason...); got != tt.want {
				t.Fatalf("got reason %v, want %s", got, tt.want)
			}
			if tt.wantTool == "" {
				return
			}
			var args map[string]any
			if err := json.Unmarshal([]byte(tt.args(m)), &args); err != nil {
				t.Fatalf("arguments %q: %v", tt.args(m), err)
			}
			if tt.wantTool == "get_weather" {
				if _, ok := args["city"].(string); !ok {
					t.Errorf("got city %v, want a string", args["city"])
				}
				if args["unit"] != "celsius" {
					t.Errorf("got unit %v, want celsius", args["unit"])
				}
				if _, ok := args["days"].(float64); !ok {
					t.Errorf("got days %v, want a number", args["days"])
				}
			}
		})
	}
}

func TestJSONModeAndImages(t *testing.T) {
	_, url, c := startSim(t, Config{Models: []Model{testModel("m")}})
	ctx := t.Context()
	schema := map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}, "ok": map[string]any{"type": "boolean"}}}
	image := []any{map[string]any{"type": "text", "text": "what is this"},
		map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64,AAAA"}}}
	anImage := []any{map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/png", "data": "AAAA"}},
		map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/png", "data": "AAAA"}},
		map[string]any{"type": "text", "text": "compare"}}
	tests := []struct {
		name   string
		path   string
		body   map[string]any
		text   []any
		json   []string // keys the JSON object must have
		prefix string
		minIn  float64
	}{
		{"openai json_object", "/v1/chat/completions", with(oaChat("m", "x"), "response_format", map[string]any{"type": "json_object"}),
			[]any{"choices", 0, "message", "content"}, []string{"answer"}, "", 1},
		{"openai json_schema", "/v1/chat/completions", with(oaChat("m", "x"), "response_format",
			map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "s", "schema": schema}}),
			[]any{"choices", 0, "message", "content"}, []string{"name", "ok"}, "", 1},
		{"anthropic output_config", "/v1/messages", with(anChat("m", "x"), "output_config",
			map[string]any{"format": map[string]any{"type": "json_schema", "schema": schema}}),
			[]any{"content", 0, "text"}, []string{"name", "ok"}, "", 1},
		{"openai image", "/v1/chat/completions", map[string]any{"model": "m", "messages": []any{map[string]any{"role": "user", "content": image}}},
			[]any{"choices", 0, "message", "content"}, nil, "I see 1 image.", 85},
		{"anthropic images", "/v1/messages", map[string]any{"model": "m", "max_tokens": 20, "messages": []any{map[string]any{"role": "user", "content": anImage}}},
			[]any{"content", 0, "text"}, nil, "I see 2 images.", 170},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := decode(t, post(t, ctx, c, url+tt.path, tt.body))
			text, _ := get(m, tt.text...).(string)
			if !strings.HasPrefix(text, tt.prefix) {
				t.Errorf("got %q, want prefix %q", text, tt.prefix)
			}
			in, _ := get(m, "usage", "prompt_tokens").(float64)
			if v, ok := get(m, "usage", "input_tokens").(float64); ok {
				in = v
			}
			if in < tt.minIn {
				t.Errorf("got input tokens %v, want >= %v", in, tt.minIn)
			}
			if tt.json == nil {
				return
			}
			var obj map[string]any
			if err := json.Unmarshal([]byte(text), &obj); err != nil {
				t.Fatalf("content %q is not a JSON object: %v", text, err)
			}
			for _, k := range tt.json {
				if _, ok := obj[k]; !ok {
					t.Errorf("got object %v, want key %q", obj, k)
				}
			}
		})
	}
}

func TestModelsAndEmbeddings(t *testing.T) {
	_, url, c := startSim(t, Config{Models: []Model{testModel("m"), {Name: "e", EmbeddingDims: 4}}},
		WithClock(func() time.Time { return time.Unix(1700000000, 0) }))
	ctx := t.Context()
	getJSON := func(path string, headers ...string) map[string]any {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return decode(t, resp)
	}
	oa := getJSON("/v1/models")
	if get(oa, "object") != "list" || get(oa, "data", 1, "id") != "e" || get(oa, "data", 0, "created") != float64(1700000000) {
		t.Errorf("got openai models %v, want list of m, e", oa)
	}
	an := getJSON("/v1/models", "anthropic-version", "2023-06-01")
	if get(an, "data", 0, "type") != "model" || get(an, "last_id") != "e" || get(an, "has_more") != false {
		t.Errorf("got anthropic models %v, want m, e", an)
	}
	if one := getJSON("/v1/models/m"); get(one, "id") != "m" {
		t.Errorf("got model %v, want m", one)
	}

	m := decode(t, post(t, ctx, c, url+"/v1/embeddings", map[string]any{"model": "e", "input": []string{"a", "bb"}}))
	if n := len(get(m, "data").([]any)); n != 2 {
		t.Fatalf("got %d embeddings, want 2", n)
	}
	vec := get(m, "data", 1, "embedding").([]any)
	var norm float64
	for _, x := range vec {
		norm += x.(float64) * x.(float64)
	}
	if len(vec) != 4 || norm < 0.999 || norm > 1.001 {
		t.Errorf("got vector of %d dims with norm² %v, want 4 dims with norm 1", len(vec), norm)
	}
	if get(m, "usage", "prompt_tokens") != float64(2) || get(m, "data", 1, "index") != float64(1) {
		t.Errorf("got usage %v, want 2 prompt tokens", get(m, "usage"))
	}
	again := decode(t, post(t, ctx, c, url+"/v1/embeddings", map[string]any{"model": "e", "input": "bb", "dimensions": 4}))
	if b1, b2 := mustJSON(get(again, "data", 0, "embedding")), mustJSON(vec); !bytes.Equal(b1, b2) {
		t.Errorf("got %s for the same input, want %s", b1, b2)
	}
	resp := post(t, ctx, c, url+"/v1/embeddings", map[string]any{"model": "nope", "input": "x"})
	if resp.StatusCode != 404 {
		t.Errorf("got status %d for unknown model, want 404", resp.StatusCode)
	}
	resp.Body.Close()
}
