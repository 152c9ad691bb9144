package openaiapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

func TestWriteResponsePassthrough(t *testing.T) {
	raw := []byte(`{"id":"chatcmpl-x","object":"chat.completion","model":"gpt-4o-mini","choices":[]}`)
	rec := httptest.NewRecorder()
	if err := WriteResponse(rec, &llm.Response{Dialect: llm.DialectOpenAI, Raw: raw, Text: "ignored"}); err != nil {
		t.Fatalf("WriteResponse: %v", err)
	}
	if got := rec.Body.String(); got != string(raw) {
		t.Errorf("got %s, want the raw body verbatim", got)
	}
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
			wantContent: "hello", wantFinish: "length", wantID: "msg_1",
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
	tests := []struct {
		kind       provider.Kind
		wantStatus int
		wantCode   string
	}{
		{provider.KindRateLimited, 429, CodeRateLimitExceeded},
		{provider.KindUnavailable, 503, CodeUpstreamUnavailable},
		{provider.KindTimeout, 504, CodeUpstreamTimeout},
		{provider.KindConnection, 502, CodeUpstreamConnection},
		{provider.KindContextLength, 400, CodeContextLengthExceeded},
		{provider.KindContentRejected, 400, CodeContentPolicyViolation},
		{provider.KindBadRequest, 400, CodeInvalidRequest},
		{provider.KindAuth, 502, CodeUpstreamAuth},
		{provider.KindQuota, 503, CodeUpstreamQuota},
		{provider.KindNotFound, 502, CodeUpstreamNotFound},
		{provider.KindUnknown, 502, CodeUpstreamError},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			status, code := KindStatus(tt.kind)
			if status != tt.wantStatus || code != tt.wantCode {
				t.Errorf("got %d %q, want %d %q", status, code, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func TestWriteErrorFor(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		want   string
	}{
		{"bad request", &BadRequestError{Param: "model", Message: "missing required parameter: 'model'"}, 400,
			`{"error":{"message":"missing required parameter: 'model'","type":"invalid_request_error","param":"model","code":"invalid_request"}}`},
		{"content rejected keeps reason", &provider.Error{Kind: provider.KindContentRejected, Status: 400, Message: "flagged: violence"}, 400,
			`{"error":{"message":"flagged: violence","type":"invalid_request_error","param":null,"code":"content_policy_violation"}}`},
		{"upstream auth hides provider text", &provider.Error{Kind: provider.KindAuth, Status: 401, Message: "invalid x-api-key"}, 502,
			`{"error":{"message":"upstream authentication failed","type":"server_error","param":null,"code":"upstream_auth_failed"}}`},
		{"upstream not found hides provider text", &provider.Error{Kind: provider.KindNotFound, Status: 404, Message: "The model `gpt-internal` does not exist"}, 502,
			`{"error":{"message":"upstream model or deployment not found","type":"server_error","param":null,"code":"upstream_not_found"}}`},
		{"unknown error hides cause", errFake("secret cause"), 500,
			`{"error":{"message":"internal error","type":"server_error","param":null,"code":"internal_error"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteErrorFor(rec, tt.err)
			if rec.Code != tt.status || rec.Body.String() != tt.want {
				t.Errorf("got %d %s, want %d %s", rec.Code, rec.Body.String(), tt.status, tt.want)
			}
			var e openai.Error
			if err := json.Unmarshal(rec.Body.Bytes(), &struct{ Error *openai.Error }{&e}); err != nil {
				t.Errorf("SDK decode: %v", err)
			}
		})
	}
	rec := httptest.NewRecorder()
	WriteError(rec, http.StatusUnauthorized, "invalid_api_key", "bad key")
	want := `{"error":{"message":"bad key","type":"authentication_error","param":null,"code":"invalid_api_key"}}`
	if rec.Code != 401 || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("WriteError: got %d %s, want 401 %s", rec.Code, rec.Body.String(), want)
	}
}

type errFake string

func (e errFake) Error() string { return string(e) }
