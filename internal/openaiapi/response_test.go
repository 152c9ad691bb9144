package openaiapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/dialecttest"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

func TestWriteResponsePassthrough(t *testing.T) {
	dialecttest.ResponsePassthrough(t, dialect, `{"id":"chatcmpl-x","object":"chat.completion","model":"gpt-4o-mini","choices":[]}`)
}

func TestWriteResponseTranslated(t *testing.T) {
	tests := []struct {
		name        string
		resp        llm.Response
		wantContent string
		wantNull    bool
		wantFinish  string
		wantID      string
	}{
		{
			name:        "text from anthropic",
			resp:        llm.Response{ID: "msg_1", Model: "claude-x", Text: "hello", FinishReason: llm.FinishLength, Usage: llm.Usage{InputTokens: 3, OutputTokens: 4}, Dialect: llm.DialectAnthropic, Raw: []byte(`{"type":"message"}`)},
			wantContent: "hello", wantFinish: "length", wantID: "chatcmpl-test", // Anthropic's id is no chat.completion's
		},
		{
			name:        "an OpenAI answer encoded again keeps its id",
			resp:        llm.Response{ID: "chatcmpl-up", Model: "claude-x", Text: "hello", Usage: llm.Usage{InputTokens: 3, OutputTokens: 4}, Dialect: llm.DialectOpenAI},
			wantContent: "hello", wantFinish: "stop", wantID: "chatcmpl-up",
		},
		{
			name:       "tool calls, no id, no finish reason",
			resp:       llm.Response{Model: "claude-x", ToolCalls: []llm.ToolCall{{ID: "toolu_1", Name: "f", Arguments: `{"a":1}`}}, Usage: llm.Usage{InputTokens: 3, OutputTokens: 4}},
			wantNull:   true,
			wantFinish: "tool_calls", wantID: "chatcmpl-test",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := testSource().writeResponse(rec, &tt.resp); err != nil {
				t.Fatalf("writeResponse: %v", err)
			}
			var cc openai.ChatCompletion
			if err := json.Unmarshal(rec.Body.Bytes(), &cc); err != nil {
				t.Fatalf("SDK decode: %v", err)
			}
			if cc.ID != tt.wantID || cc.Object != "chat.completion" || cc.Model != "claude-x" || cc.Created != 1700000000 {
				t.Errorf("got id %q object %q model %q created %d, want %q chat.completion claude-x 1700000000", cc.ID, cc.Object, cc.Model, cc.Created, tt.wantID)
			}
			ch := cc.Choices[0]
			if ch.Message.Content != tt.wantContent || ch.FinishReason != tt.wantFinish || ch.Message.Role != "assistant" {
				t.Errorf("got content %q finish %q role %q, want %q %q assistant", ch.Message.Content, ch.FinishReason, ch.Message.Role, tt.wantContent, tt.wantFinish)
			}
			if tt.wantNull == ch.Message.JSON.Content.Valid() {
				t.Errorf("got content null %v, want %v", !ch.Message.JSON.Content.Valid(), tt.wantNull)
			}
			if len(tt.resp.ToolCalls) > 0 {
				tc := ch.Message.ToolCalls[0]
				if tc.ID != "toolu_1" || tc.Type != "function" || tc.Function.Name != "f" || tc.Function.Arguments != `{"a":1}` {
					t.Errorf("got tool call %+v, want toolu_1 function f {\"a\":1}", tc)
				}
			}
			if cc.Usage.PromptTokens != 3 || cc.Usage.CompletionTokens != 4 || cc.Usage.TotalTokens != 7 {
				t.Errorf("got usage %d/%d/%d, want 3/4/7", cc.Usage.PromptTokens, cc.Usage.CompletionTokens, cc.Usage.TotalTokens)
			}
		})
	}
}

// TestTranslatedUsageShape: a translated answer's usage has both detail
// objects of OpenAI's (clients read
// completion_tokens_details.reasoning_tokens unchecked), whole or
// streamed, in Chat Completions and legacy Completions; and a legacy
// answer's id is a text_completion's (cmpl-), streamed or not.
func TestTranslatedUsageShape(t *testing.T) {
	resp := &llm.Response{ID: "msg_1", Model: "claude-x", Text: "hi", FinishReason: llm.FinishStop, Usage: llm.Usage{InputTokens: 3, OutputTokens: 4}, Dialect: llm.DialectAnthropic}
	events := []llm.Event{{Start: true, ID: "msg_1", Model: "claude-x", Usage: &llm.Usage{InputTokens: 3}}, {Text: "hi"}, {FinishReason: llm.FinishStop, Usage: &llm.Usage{OutputTokens: 4}}, {Done: true}}
	const usage = `{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,` +
		`"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},` +
		`"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`
	stream := func(legacy bool) []gjson.Result {
		rec := httptest.NewRecorder()
		req := &llm.Request{Model: "auto", Stream: true, IncludeUsage: true}
		sw := NewStreamWriter(rec, req, llm.DialectAnthropic)
		if legacy {
			sw = NewCompletionsStreamWriter(rec, req, llm.DialectAnthropic)
		}
		sw.gen = testSource()
		for _, ev := range events {
			if err := sw.WriteEvent(ev); err != nil {
				t.Fatal(err)
			}
		}
		var frames []gjson.Result
		for line := range strings.Lines(rec.Body.String()) {
			if d, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok && d != "[DONE]" {
				frames = append(frames, gjson.Parse(d))
			}
		}
		return frames
	}

	rec := httptest.NewRecorder()
	if err := testSource().writeResponse(rec, resp); err != nil {
		t.Fatal(err)
	}
	chat := gjson.Parse(rec.Body.String())
	legacyRec := httptest.NewRecorder()
	if err := WriteCompletionsResponse(legacyRec, resp); err != nil {
		t.Fatal(err)
	}
	legacy := gjson.Parse(legacyRec.Body.String())
	chatFrames, legacyFrames := stream(false), stream(true)
	for _, tt := range []struct {
		name     string
		answer   gjson.Result
		idPrefix string
	}{
		{"chat", chat, "chatcmpl-"},
		{"chat stream's usage chunk", chatFrames[len(chatFrames)-1], "chatcmpl-"},
		{"completion", legacy, "cmpl-"},
		{"completion stream's usage chunk", legacyFrames[len(legacyFrames)-1], "cmpl-"},
	} {
		if diff := cmp.Diff(usage, tt.answer.Get("usage").Raw); diff != "" {
			t.Errorf("%s: usage mismatch (-want +got):\n%s", tt.name, diff)
		}
		if id := tt.answer.Get("id").Str; !strings.HasPrefix(id, tt.idPrefix) {
			t.Errorf("%s: got id %q, want one starting %s", tt.name, id, tt.idPrefix)
		}
	}
	for _, f := range legacyFrames {
		if id := f.Get("id").Str; id != "cmpl-test" {
			t.Errorf("completion stream: got chunk id %q, want cmpl-test", id)
		}
	}
}

// TestWriteResponseCachedTokens: a translated answer reports the
// provider's prompt-cache reads as prompt_tokens_details.cached_tokens
// (within prompt_tokens), as OpenAI does.
func TestWriteResponseCachedTokens(t *testing.T) {
	rec := httptest.NewRecorder()
	resp := llm.Response{Model: "claude-x", Text: "hi", FinishReason: llm.FinishStop, Usage: llm.Usage{InputTokens: 500, CachedInputTokens: 300, CacheWriteTokens: 100, OutputTokens: 4}}
	if err := testSource().writeResponse(rec, &resp); err != nil {
		t.Fatal(err)
	}
	var cc openai.ChatCompletion
	if err := json.Unmarshal(rec.Body.Bytes(), &cc); err != nil {
		t.Fatal(err)
	}
	if u := cc.Usage; u.PromptTokens != 500 || u.PromptTokensDetails.CachedTokens != 300 || u.TotalTokens != 504 {
		t.Errorf("usage %+v, want 500 prompt tokens of which 300 cached", u)
	}
}

func TestWriteModels(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := testSource().writeModels(rec, []string{"smart", "gpt-4o"}); err != nil {
		t.Fatalf("writeModels: %v", err)
	}
	want := `{"object":"list","data":[{"id":"smart","object":"model","created":1700000000,"owned_by":"switchyard"},{"id":"gpt-4o","object":"model","created":1700000000,"owned_by":"switchyard"}]}`
	if got := rec.Body.String(); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	rec = httptest.NewRecorder()
	_ = testSource().writeModels(rec, nil)
	if got := rec.Body.String(); got != `{"object":"list","data":[]}` {
		t.Errorf("got %s, want an empty data array", got)
	}
}

func TestKindStatus(t *testing.T) {
	dialecttest.KindStatuses(t, dialect, []dialecttest.KindCase{
		{Kind: provider.KindRateLimited, Status: 429, Code: CodeRateLimitExceeded},
		{Kind: provider.KindUnavailable, Status: 503, Code: CodeUpstreamUnavailable},
		{Kind: provider.KindTimeout, Status: 504, Code: CodeUpstreamTimeout},
		{Kind: provider.KindConnection, Status: 502, Code: CodeUpstreamConnection},
		{Kind: provider.KindContextLength, Status: 400, Code: CodeContextLengthExceeded},
		{Kind: provider.KindContentRejected, Status: 400, Code: CodeContentPolicyViolation},
		{Kind: provider.KindBadRequest, Status: 400, Code: CodeInvalidRequest},
		{Kind: provider.KindAuth, Status: 502, Code: CodeUpstreamAuth},
		{Kind: provider.KindQuota, Status: 503, Code: CodeUpstreamQuota},
		{Kind: provider.KindNotFound, Status: 502, Code: CodeUpstreamNotFound},
		{Kind: provider.KindUnknown, Status: 502, Code: CodeUpstreamError},
	})
}

func TestWriteErrorFor(t *testing.T) {
	dialecttest.ErrorResponses(t, dialect, []dialecttest.ErrorCase{
		{
			Name:   "bad request",
			Err:    &BadRequestError{Param: "model", Message: "missing required parameter: 'model'"},
			Status: 400,
			Body:   `{"error":{"message":"missing required parameter: 'model'","type":"invalid_request_error","param":"model","code":"invalid_request"}}`,
		},
		{
			Name:   "an upstream refusal names the field",
			Err:    &provider.Error{Kind: provider.KindBadRequest, Status: 400, Message: "Invalid value for 'temperature'", Param: "temperature"},
			Status: 400,
			Body:   `{"error":{"message":"Invalid value for 'temperature'","type":"invalid_request_error","param":"temperature","code":"invalid_request"}}`,
		},
		// A relayed request's refusal keeps the upstream's own code,
		// which SDKs branch on; the gateway's classes keep the gateway's
		// codes, and a code that is not a plain identifier is not passed
		// on (found by audit A).
		{
			Name:   "an upstream refusal keeps its code",
			Err:    &provider.Error{Kind: provider.KindBadRequest, Status: 400, Message: "Unsupported parameter: 'max_tokens'", Param: "max_tokens", Code: "unsupported_parameter"},
			Status: 400,
			Body:   `{"error":{"message":"Unsupported parameter: 'max_tokens'","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}`,
		},
		{
			Name:   "an upstream code that is not an identifier",
			Err:    &provider.Error{Kind: provider.KindBadRequest, Status: 400, Message: "bad", Code: "<script>"},
			Status: 400,
			Body:   `{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":"invalid_request"}}`,
		},
		// An upstream's 413 stays a 413, not any other refusal's 400.
		{
			Name:   "an upstream refusal as too large",
			Err:    &provider.Error{Kind: provider.KindBadRequest, Status: 413, Message: "Request exceeds the maximum allowed number of bytes."},
			Status: 413,
			Body:   `{"error":{"message":"Request exceeds the maximum allowed number of bytes.","type":"invalid_request_error","param":null,"code":"request_too_large"}}`,
		},
		{
			Name:   "rate limits keep the gateway's code",
			Err:    &provider.Error{Kind: provider.KindRateLimited, Status: 429, Message: "slow down", Code: "tokens_per_min"},
			Status: 429,
			Body:   `{"error":{"message":"slow down","type":"rate_limit_exceeded","param":null,"code":"rate_limit_exceeded"}}`,
		},
		{
			Name:   "context length keeps the gateway's code",
			Err:    &provider.Error{Kind: provider.KindContextLength, Status: 400, Message: "too long", Code: "string_above_max_length"},
			Status: 400,
			Body:   `{"error":{"message":"too long","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}`,
		},
		{
			Name:   "upstream auth keeps the gateway's code",
			Err:    &provider.Error{Kind: provider.KindAuth, Status: 401, Message: "x", Code: "invalid_api_key"},
			Status: 502,
			Body:   `{"error":{"message":"upstream authentication failed","type":"server_error","param":null,"code":"upstream_auth_failed"}}`,
		},
		{
			Name:   "upstream auth names no field",
			Err:    &provider.Error{Kind: provider.KindAuth, Status: 401, Message: "Incorrect API key sk-…", Param: "key"},
			Status: 502,
			Body:   `{"error":{"message":"upstream authentication failed","type":"server_error","param":null,"code":"upstream_auth_failed"}}`,
		},
		{
			Name:   "content rejected keeps reason",
			Err:    &provider.Error{Kind: provider.KindContentRejected, Status: 400, Message: "flagged: violence"},
			Status: 400,
			Body:   `{"error":{"message":"flagged: violence","type":"invalid_request_error","param":null,"code":"content_policy_violation"}}`,
		},
		{
			Name:   "upstream auth hides provider text",
			Err:    &provider.Error{Kind: provider.KindAuth, Status: 401, Message: "invalid x-api-key"},
			Status: 502,
			Body:   `{"error":{"message":"upstream authentication failed","type":"server_error","param":null,"code":"upstream_auth_failed"}}`,
		},
		{
			Name:   "upstream not found hides provider text",
			Err:    &provider.Error{Kind: provider.KindNotFound, Status: 404, Message: "The model `gpt-internal` does not exist"},
			Status: 502,
			Body:   `{"error":{"message":"upstream model or deployment not found","type":"server_error","param":null,"code":"upstream_not_found"}}`,
		},
		{
			Name:   "unknown error hides cause",
			Err:    errors.New("secret cause"),
			Status: 500,
			Body:   `{"error":{"message":"internal error","type":"server_error","param":null,"code":"internal_error"}}`,
		},
	})
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, http.StatusUnauthorized, "invalid_api_key", "bad key")
	want := `{"error":{"message":"bad key","type":"authentication_error","param":null,"code":"invalid_api_key"}}`
	if rec.Code != 401 || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("WriteError: got %d %s, want 401 %s", rec.Code, rec.Body.String(), want)
	}
}

// TestWriteResponseChoices: an answer with More is written as that many
// choices, in order, each with its own message and finish reason.
func TestWriteResponseChoices(t *testing.T) {
	rec := httptest.NewRecorder()
	resp := llm.Response{Model: "claude-x", Text: "one", FinishReason: llm.FinishStop, Usage: llm.Usage{InputTokens: 30, OutputTokens: 9},
		More: []llm.Response{{Text: "two", FinishReason: llm.FinishLength}, {ToolCalls: []llm.ToolCall{{ID: "c1", Name: "f", Arguments: "{}"}}}}}
	if err := testSource().writeResponse(rec, &resp); err != nil {
		t.Fatal(err)
	}
	var cc openai.ChatCompletion
	if err := json.Unmarshal(rec.Body.Bytes(), &cc); err != nil {
		t.Fatal(err)
	}
	if len(cc.Choices) != 3 {
		t.Fatalf("got %d choices, want 3: %s", len(cc.Choices), rec.Body)
	}
	for i, want := range []struct{ text, finish string }{{"one", "stop"}, {"two", "length"}, {"", "tool_calls"}} {
		c := cc.Choices[i]
		if c.Index != int64(i) || c.Message.Content != want.text || c.FinishReason != want.finish {
			t.Errorf("choice %d: index %d, %q, %q; want %q, %q", i, c.Index, c.Message.Content, c.FinishReason, want.text, want.finish)
		}
	}
	if len(cc.Choices[2].Message.ToolCalls) != 1 || cc.Usage.CompletionTokens != 9 {
		t.Errorf("tool call %+v, usage %+v", cc.Choices[2].Message.ToolCalls, cc.Usage)
	}
}
