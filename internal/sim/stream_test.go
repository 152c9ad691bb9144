package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// stream posts a streaming request and reads all its events.
func stream(t *testing.T, ctx context.Context, c *http.Client, url string, body map[string]any, headers ...string) (*http.Response, []event, error) {
	t.Helper()
	resp := post(t, ctx, c, url, with(body, "stream", true), headers...)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp, nil, nil
	}
	evs, err := readEvents(resp.Body)
	return resp, evs, err
}

// oaContent concatenates the content deltas of OpenAI chunks and counts them.
func oaContent(t *testing.T, evs []event) (string, int) {
	t.Helper()
	var b strings.Builder
	n := 0
	for _, e := range evs {
		if e.data == "[DONE]" {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(e.data), &m) != nil {
			continue
		}
		if s, ok := get(m, "choices", 0, "delta", "content").(string); ok && s != "" {
			b.WriteString(s)
			n++
		}
	}
	return b.String(), n
}

func names(evs []event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.name)
	}
	return out
}

func TestOpenAIStream(t *testing.T) {
	_, url, c := startSim(t, Config{Models: []Model{testModel("m")}})
	ctx := t.Context()
	tests := []struct {
		name  string
		body  map[string]any
		usage bool
	}{
		{"without usage", oaChat("m", "hi"), false},
		{"with usage", with(oaChat("m", "hi"), "stream_options", map[string]any{"include_usage": true}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, evs, err := stream(t, ctx, c, url+"/v1/chat/completions", tt.body)
			if err != nil {
				t.Fatalf("read stream: %v", err)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Errorf("got Content-Type %q, want text/event-stream", ct)
			}
			want := 1 + 8 + 1 + 1 // role, tokens, finish, [DONE]
			if tt.usage {
				want++
			}
			if len(evs) != want {
				t.Fatalf("got %d events, want %d: %v", len(evs), want, evs)
			}
			var first map[string]any
			_ = json.Unmarshal([]byte(evs[0].data), &first)
			if get(first, "object") != "chat.completion.chunk" || get(first, "choices", 0, "delta", "role") != "assistant" {
				t.Errorf("got first chunk %s, want a role delta", evs[0].data)
			}
			_, hasUsage := first["usage"]
			if hasUsage != tt.usage {
				t.Errorf("got usage key present %v, want %v", hasUsage, tt.usage)
			}
			text, n := oaContent(t, evs)
			if n != 8 || len(strings.Fields(text)) != 8 {
				t.Errorf("got %d content deltas %q, want 8 words", n, text)
			}
			var fin map[string]any
			_ = json.Unmarshal([]byte(evs[9].data), &fin)
			if get(fin, "choices", 0, "finish_reason") != "stop" {
				t.Errorf("got finish chunk %s, want finish_reason stop", evs[9].data)
			}
			if tt.usage {
				var u map[string]any
				_ = json.Unmarshal([]byte(evs[10].data), &u)
				if ch, ok := u["choices"].([]any); !ok || len(ch) != 0 || get(u, "usage", "completion_tokens") != float64(8) {
					t.Errorf("got usage chunk %s, want choices [] and 8 completion tokens", evs[10].data)
				}
			}
			if last := evs[len(evs)-1].data; last != "[DONE]" {
				t.Errorf("got last event %q, want [DONE]", last)
			}
			non := decode(t, post(t, ctx, c, url+"/v1/chat/completions", tt.body))
			if got := get(non, "choices", 0, "message", "content"); got != text {
				t.Errorf("got streamed %q, want the non-streamed %q", text, got)
			}
		})
	}
}

func TestOpenAIToolStream(t *testing.T) {
	_, url, c := startSim(t, Config{Models: []Model{testModel("m")}})
	tools := []any{map[string]any{"type": "function", "function": map[string]any{"name": "lookup",
		"parameters": map[string]any{"type": "object", "properties": map[string]any{"q": map[string]any{"type": "string"}}}}}}
	_, evs, err := stream(t, t.Context(), c, url+"/v1/chat/completions", with(oaChat("m", "find"), "tools", tools))
	if err != nil {
		t.Fatal(err)
	}
	var args strings.Builder
	var name, id, finish any
	for _, e := range evs {
		var m map[string]any
		if json.Unmarshal([]byte(e.data), &m) != nil {
			continue
		}
		tc := get(m, "choices", 0, "delta", "tool_calls", 0)
		if n := get(tc, "function", "name"); n != nil {
			name, id = n, get(tc, "id")
		}
		if a, ok := get(tc, "function", "arguments").(string); ok {
			args.WriteString(a)
		}
		if f := get(m, "choices", 0, "finish_reason"); f != nil {
			finish = f
		}
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(args.String()), &obj); err != nil || obj["q"] == nil {
		t.Errorf("got arguments %q, want a JSON object with q", args.String())
	}
	if name != "lookup" || id == nil || finish != "tool_calls" {
		t.Errorf("got name %v id %v finish %v, want lookup, an id, tool_calls", name, id, finish)
	}
}

func TestAnthropicStream(t *testing.T) {
	_, url, c := startSim(t, Config{Models: []Model{testModel("m")}})
	tools := []any{map[string]any{"name": "lookup", "input_schema": map[string]any{"type": "object",
		"properties": map[string]any{"q": map[string]any{"type": "string"}}}}}
	tests := []struct {
		name   string
		body   map[string]any
		deltas int
		stop   string
	}{
		{"text", anChat("m", "hi"), 8, "end_turn"},
		{"max_tokens", with(anChat("m", "hi"), "max_tokens", 5), 5, "max_tokens"},
		{"tool", with(anChat("m", "find"), "tools", tools), -1, "tool_use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, evs, err := stream(t, t.Context(), c, url+"/v1/messages", tt.body)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(names(evs), ",")
			n := len(evs) - 6
			if tt.deltas >= 0 && n != tt.deltas {
				t.Errorf("got %d deltas, want %d", n, tt.deltas)
			}
			want := "message_start,content_block_start,ping," + strings.Repeat("content_block_delta,", n) +
				"content_block_stop,message_delta,message_stop"
			if got != want {
				t.Fatalf("got events %s, want %s", got, want)
			}
			var partial strings.Builder
			for _, e := range evs {
				var m map[string]any
				if err := json.Unmarshal([]byte(e.data), &m); err != nil {
					t.Fatalf("event %s: bad JSON %q", e.name, e.data)
				}
				if m["type"] != e.name {
					t.Errorf("got data type %v, want %s", m["type"], e.name)
				}
				if s, ok := get(m, "delta", "partial_json").(string); ok {
					partial.WriteString(s)
				}
			}
			var delta map[string]any
			_ = json.Unmarshal([]byte(evs[len(evs)-2].data), &delta)
			if get(delta, "delta", "stop_reason") != tt.stop || get(delta, "usage", "output_tokens") != float64(n) {
				t.Errorf("got message_delta %s, want stop_reason %s and %d output tokens", evs[len(evs)-2].data, tt.stop, n)
			}
			if tt.stop == "tool_use" && !json.Valid([]byte(partial.String())) {
				t.Errorf("got tool input %q, want valid JSON", partial.String())
			}
		})
	}
}

func TestPacing(t *testing.T) {
	m := Model{Name: "slow", OutputTokens: 5, Latency: 30 * time.Millisecond, FirstToken: 60 * time.Millisecond, TokensPerSecond: 100}
	_, url, c := startSim(t, Config{Models: []Model{m}}, WithPingInterval(20*time.Millisecond))
	ctx := t.Context()

	start := time.Now()
	resp := post(t, ctx, c, url+"/v1/chat/completions", oaChat("slow", "x"))
	resp.Body.Close()
	// latency + first token + 4 gaps of 10ms
	if got, want := time.Since(start), 130*time.Millisecond; got < want {
		t.Errorf("non-streaming answer took %v, want >= %v", got, want)
	}

	start = time.Now()
	resp = post(t, ctx, c, url+"/v1/messages", with(anChat("slow", "x"), "stream", true))
	defer resp.Body.Close()
	if got := time.Since(start); got < m.Latency {
		t.Errorf("headers after %v, want >= %v", got, m.Latency)
	}
	evs, err := readEvents(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := time.Since(start), 130*time.Millisecond; got < want {
		t.Errorf("stream took %v, want >= %v", got, want)
	}
	pings := 0
	for _, e := range evs {
		if e.name == "content_block_delta" {
			break
		}
		if e.name == "ping" {
			pings++
		}
	}
	// one at start, then one every 20ms of the 60ms wait for the first token
	if pings < 3 {
		t.Errorf("got %d pings before the first token, want >= 3", pings)
	}
}
