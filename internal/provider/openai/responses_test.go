package openai

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

// rsServer answers POST /v1/responses with body (as SSE when the request
// streams) and records the request body.
func rsServer(t *testing.T, status int, body string, got *[]byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/responses" {
			t.Errorf("path %s, want /v1/responses", r.URL.Path)
		}
		b, _ := io.ReadAll(r.Body)
		if got != nil {
			*got = b
		}
		ct := "application/json"
		if gjson.GetBytes(b, "stream").Bool() {
			ct = "text/event-stream"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func rsRequest(body string) *llm.Request {
	return &llm.Request{Model: "route", Raw: []byte(body), Dialect: llm.DialectOpenAIResponses, Stream: strings.Contains(body, `"stream":true`)}
}

func TestResponsesRelayed(t *testing.T) {
	var sent []byte
	srv := rsServer(t, 200, `{"id":"resp_1","object":"response","created_at":7,"status":"completed","model":"gpt-4o-mini-2024",
		"output":[{"type":"reasoning","id":"rs_1","summary":[]},{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Hi there","annotations":[]}]}],
		"usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":8},"output_tokens":3,"total_tokens":15},"future_field":{"kept":true}}`, &sent)
	c := newClient(srv, nil)
	resp, err := c.Chat(context.Background(), rsRequest(`{"model":"route","input":"hi","reasoning":{"effort":"low"},"unknown_field":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Dialect != llm.DialectOpenAIResponses || resp.Text != "Hi there" || resp.Model != "gpt-4o-mini-2024" ||
		resp.Usage != (llm.Usage{InputTokens: 12, CachedInputTokens: 8, OutputTokens: 3}) || resp.FinishReason != llm.FinishStop || !strings.Contains(string(resp.Raw), "future_field") {
		t.Fatalf("response %+v", resp)
	}
	// Only model and stream are rewritten; the rest passes through.
	if gjson.GetBytes(sent, "model").Str != "gpt-4o-mini" || gjson.GetBytes(sent, "stream").Bool() ||
		gjson.GetBytes(sent, "unknown_field").Int() != 1 || gjson.GetBytes(sent, "reasoning.effort").Str != "low" {
		t.Errorf("sent %s", sent)
	}
}

func TestResponsesObjectKinds(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		finish     llm.FinishReason
		calls      int
		kind       provider.Kind // 0: no error
	}{
		{"incomplete", `{"status":"incomplete","output":[{"type":"message","content":[{"type":"output_text","text":"cut"}]}]}`, llm.FinishLength, 0, 0},
		{"function call", `{"status":"completed","output":[{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{}"}]}`, llm.FinishToolCalls, 1, 0},
		{"no output", `{"status":"completed","output":[]}`, "", 0, provider.KindUnavailable},
		// OpenAI answers a background request at once, queued, output empty.
		{"queued background", `{"status":"queued","background":true,"output":[]}`, llm.FinishStop, 0, 0},
		{"in progress background", `{"status":"in_progress","background":true,"output":[]}`, llm.FinishStop, 0, 0},
		{"failed", `{"status":"failed","error":{"code":"server_error","message":"boom"},"output":[]}`, "", 0, provider.KindUnavailable},
		{"rate limited", `{"status":"failed","error":{"code":"rate_limit_exceeded","message":"slow down"},"output":[]}`, "", 0, provider.KindRateLimited},
		{"not JSON", `{"status":`, "", 0, provider.KindUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(rsServer(t, 200, tt.body, nil), nil)
			resp, err := c.Chat(context.Background(), rsRequest(`{"model":"m","input":"x"}`))
			if tt.kind != 0 {
				if provider.KindOf(err) != tt.kind {
					t.Fatalf("err %v (kind %v), want kind %v", err, provider.KindOf(err), tt.kind)
				}
				return
			}
			if err != nil || resp.FinishReason != tt.finish || len(resp.ToolCalls) != tt.calls {
				t.Fatalf("resp %+v err %v", resp, err)
			}
		})
	}
}

// TestResponsesAzureTranslated: an Azure deployment has no Responses API,
// so a Responses request is translated to its Chat Completions endpoint.
func TestResponsesAzureTranslated(t *testing.T) {
	var path string
	var sent []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		sent, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)
	}))
	t.Cleanup(srv.Close)
	c := newClient(srv, func(cfg *provider.Config) { cfg.Azure = true })
	if c.Relays(llm.DialectOpenAIResponses) || !c.Relays(llm.DialectOpenAICompletions) {
		t.Error("an Azure deployment: want the legacy Completions API relayed, the Responses API not")
	}
	req := rsRequest(`{"model":"m","input":"hello","instructions":"be brief"}`)
	req.SetDecoder(func([]byte) (*llm.Body, error) {
		return &llm.Body{System: "be brief", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hello"}}}}}, nil
	})
	resp, err := c.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(path, "/chat/completions") || resp.Text != "Hi" || resp.Dialect != llm.DialectOpenAI {
		t.Errorf("path %s, response %+v: want a chat completion", path, resp)
	}
	if gjson.GetBytes(sent, "messages.0.role").Str != "system" || gjson.GetBytes(sent, "messages.1.content").Str != "hello" {
		t.Errorf("sent %s, want the canonical body as chat messages", sent)
	}
}

const rsStreamOK = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_9\",\"model\":\"gpt-4o-mini-2024\",\"status\":\"in_progress\",\"output\":[]}}\n\n" +
	"event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":1,\"output_index\":0,\"item\":{\"type\":\"message\"}}\n\n" +
	": keep-alive\n\n" +
	"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":2,\"delta\":\"Hel\"}\n\n" +
	"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":3,\"delta\":\"lo\"}\n\n" +
	"event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":4,\"response\":{\"id\":\"resp_9\",\"model\":\"gpt-4o-mini-2024\",\"status\":\"completed\",\"usage\":{\"input_tokens\":5,\"input_tokens_details\":{\"cached_tokens\":4},\"output_tokens\":2}}}\n\n"

// drain reads st to its end: the events and the final error (nil at io.EOF).
func drain(t *testing.T, st llm.Stream) ([]llm.Event, error) {
	t.Helper()
	defer st.Close()
	var evs []llm.Event
	for {
		ev, err := st.Next()
		if err == io.EOF {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestResponsesStream(t *testing.T) {
	var sent []byte
	c := newClient(rsServer(t, 200, rsStreamOK, &sent), nil)
	st, err := c.ChatStream(context.Background(), rsRequest(`{"model":"route","input":"hi","stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if st.Dialect() != llm.DialectOpenAIResponses {
		t.Errorf("dialect %s", st.Dialect())
	}
	evs, err := drain(t, st)
	if err != nil {
		t.Fatal(err)
	}
	var raw, text strings.Builder
	for _, ev := range evs {
		raw.Write(ev.Raw)
		text.WriteString(ev.Text)
	}
	if raw.String() != rsStreamOK {
		t.Errorf("relayed frames differ from the provider's:\n%q\nwant\n%q", raw.String(), rsStreamOK)
	}
	first, last := evs[0], evs[len(evs)-1]
	if !first.Start || first.ID != "resp_9" || first.HasContent() || evs[1].HasContent() {
		t.Errorf("opening events %+v %+v: want Start with the id, and no content before the first delta", first, evs[1])
	}
	if text.String() != "Hello" || !last.Done || last.FinishReason != llm.FinishStop || last.Usage == nil || *last.Usage != (llm.Usage{InputTokens: 5, CachedInputTokens: 4, OutputTokens: 2}) {
		t.Errorf("text %q, last %+v", text.String(), last)
	}
	if !gjson.GetBytes(sent, "stream").Bool() || gjson.GetBytes(sent, "model").Str != "gpt-4o-mini" {
		t.Errorf("sent %s", sent)
	}
}

func TestResponsesStreamFailures(t *testing.T) {
	head := strings.SplitAfterN(rsStreamOK, "\n\n", 5)
	upToDeltas := strings.Join(head[:4], "")
	for _, tt := range []struct {
		name, body string
		kind       provider.Kind
	}{
		{"cut before the terminal event", upToDeltas, provider.KindUnavailable},
		{"response.failed", upToDeltas + "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"x\"}}}\n\n", provider.KindUnavailable},
		{"error event", upToDeltas + "event: error\ndata: {\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"slow\"}\n\n", provider.KindRateLimited},
		{"malformed", upToDeltas + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"\n\n", provider.KindUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(rsServer(t, 200, tt.body, nil), nil)
			st, err := c.ChatStream(context.Background(), rsRequest(`{"model":"m","input":"x","stream":true}`))
			if err != nil {
				t.Fatal(err)
			}
			evs, err := drain(t, st)
			if err == nil || provider.KindOf(err) != tt.kind {
				t.Fatalf("err %v (kind %v), want kind %v", err, provider.KindOf(err), tt.kind)
			}
			for _, ev := range evs {
				if ev.Done {
					t.Error("a failed stream produced a Done event")
				}
			}
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Errorf("err %T, want a *provider.Error", err)
			}
		})
	}
}

func FuzzResponsesStream(f *testing.F) {
	f.Add([]byte(rsStreamOK))
	f.Add([]byte("event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"error\":7}}\n\n"))
	f.Add([]byte("event: error\ndata: {\"type\":\"error\",\"code\":null}\n\n"))
	f.Add([]byte("data: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":\"x\"}}}\n\n"))
	c := New(provider.Config{APIKey: testKey})
	providertest.FuzzStream(f, func(body io.ReadCloser) llm.Stream {
		return &rsStream{c: c, upstreamSSE: newUpstreamSSE(body)}
	})
}

func TestCompletionsRelayed(t *testing.T) {
	const chunks = `data: {"id":"cmpl-1","object":"text_completion","model":"gpt-3.5-turbo-instruct","choices":[{"text":"Hel","index":0,"logprobs":null,"finish_reason":null}]}` + "\n\n" +
		`data: {"id":"cmpl-1","object":"text_completion","model":"gpt-3.5-turbo-instruct","choices":[{"text":"lo","index":0,"logprobs":null,"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"id":"cmpl-1","object":"text_completion","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}` + "\n\n" +
		"data: [DONE]\n\n"
	var sent []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/completions" {
			t.Errorf("path %s, want /v1/completions", r.URL.Path)
		}
		sent, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, chunks)
	}))
	t.Cleanup(srv.Close)
	c := newClient(srv, nil)
	req := &llm.Request{Model: "r", Raw: []byte(`{"model":"r","prompt":"hi","stream":true,"echo":true}`), Dialect: llm.DialectOpenAICompletions, Stream: true}
	st, err := c.ChatStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	st.(llm.Passthrough).SetPassthrough() // the gateway relays: text must still be read
	evs, err := drain(t, st)
	if err != nil || st.Dialect() != llm.DialectOpenAICompletions {
		t.Fatalf("err %v dialect %s", err, st.Dialect())
	}
	var text, raw strings.Builder
	var usage *llm.Usage
	for _, ev := range evs {
		text.WriteString(ev.Text)
		raw.Write(ev.Raw)
		if ev.Usage != nil {
			usage = ev.Usage
		}
	}
	if text.String() != "Hello" || raw.String() != chunks || usage == nil || usage.OutputTokens != 2 || !evs[0].HasContent() {
		t.Errorf("text %q usage %+v first %+v; frames equal %v", text.String(), usage, evs[0], raw.String() == chunks)
	}
	if !gjson.GetBytes(sent, "echo").Bool() || gjson.GetBytes(sent, "model").Str != "gpt-4o-mini" || !gjson.GetBytes(sent, "stream_options.include_usage").Bool() {
		t.Errorf("sent %s", sent)
	}
}

func FuzzCompletionsStream(f *testing.F) {
	f.Add([]byte(`data: {"choices":[{"text":"a","finish_reason":null}]}` + "\n\n" + `data: {"choices":[{"text":"","finish_reason":"stop"}]}` + "\n\ndata: [DONE]\n\n"))
	f.Add([]byte(`data: {"choices":[{"text":7}],"usage":{"completion_tokens":"x"}}` + "\n\n"))
	c := New(provider.Config{APIKey: testKey})
	providertest.FuzzStream(f, func(body io.ReadCloser) llm.Stream {
		s := newStream(c, body, 0)
		s.completions = true
		return s
	})
}
