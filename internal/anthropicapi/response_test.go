package anthropicapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

func TestWriteResponsePassthrough(t *testing.T) {
	raw := []byte(`{"id":"msg_x","type":"message","model":"claude-haiku","content":[]}`)
	rec := httptest.NewRecorder()
	if err := WriteResponse(rec, &llm.Response{Dialect: llm.DialectAnthropic, Raw: raw, Text: "ignored"}); err != nil {
		t.Fatalf("WriteResponse: %v", err)
	}
	if got := rec.Body.String(); got != string(raw) {
		t.Errorf("got %s, want the raw body verbatim", got)
	}
}

func TestWriteResponseTranslated(t *testing.T) {
	tests := []struct {
		name     string
		resp     llm.Response
		wantID   string
		wantStop string
		want     string // content blocks as JSON
	}{
		{
			name:   "text",
			resp:   llm.Response{ID: "chatcmpl-1", Model: "gpt-4o", Text: "hello", FinishReason: llm.FinishStop, Dialect: llm.DialectOpenAI, Raw: []byte(`{}`)},
			wantID: "chatcmpl-1", wantStop: "end_turn", want: `[{"type":"text","text":"hello"}]`,
		},
		{
			name: "tool calls with bad and missing arguments",
			resp: llm.Response{Model: "gpt-4o", Text: "calling", FinishReason: llm.FinishToolCalls, ToolCalls: []llm.ToolCall{
				{ID: "call_1", Name: "f", Arguments: ` {"a": [1]} `}, {Name: "g", Arguments: "not json"}, {ID: "call_3", Name: "h"}}},
			wantID: "msg_test", wantStop: "tool_use",
			want: `[{"type":"text","text":"calling"},{"type":"tool_use","id":"call_1","name":"f","input":{"a":[1]}},{"type":"tool_use","id":"toolu_test","name":"g","input":{}},{"type":"tool_use","id":"call_3","name":"h","input":{}}]`,
		},
		{name: "length", resp: llm.Response{Model: "gpt-4o", Text: "x", FinishReason: llm.FinishLength}, wantID: "msg_test", wantStop: "max_tokens", want: `[{"type":"text","text":"x"}]`},
		{name: "content filter", resp: llm.Response{Model: "gpt-4o", FinishReason: llm.FinishContentFilter}, wantID: "msg_test", wantStop: "refusal", want: `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.resp.Usage = llm.Usage{InputTokens: 5, OutputTokens: 6}
			rec := httptest.NewRecorder()
			if err := writeResponse(rec, &tt.resp, testIDs); err != nil {
				t.Fatalf("writeResponse: %v", err)
			}
			var m anthropic.Message
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
				t.Fatalf("SDK decode: %v", err)
			}
			if m.ID != tt.wantID || string(m.StopReason) != tt.wantStop || m.Model != "gpt-4o" || m.Role != "assistant" || m.Type != "message" {
				t.Errorf("got id %q stop %q model %q role %q type %q, want %q %q gpt-4o assistant message", m.ID, m.StopReason, m.Model, m.Role, m.Type, tt.wantID, tt.wantStop)
			}
			if m.Usage.InputTokens != 5 || m.Usage.OutputTokens != 6 {
				t.Errorf("got usage %d/%d, want 5/6", m.Usage.InputTokens, m.Usage.OutputTokens)
			}
			var raw struct{ Content json.RawMessage }
			_ = json.Unmarshal(rec.Body.Bytes(), &raw)
			if string(raw.Content) != tt.want {
				t.Errorf("got content %s, want %s", raw.Content, tt.want)
			}
		})
	}
}

func TestKindStatus(t *testing.T) {
	tests := []struct {
		kind       provider.Kind
		wantStatus int
		wantType   string
	}{
		{provider.KindRateLimited, 429, TypeRateLimit},
		{provider.KindUnavailable, 529, TypeOverloaded},
		{provider.KindTimeout, 504, TypeTimeout},
		{provider.KindConnection, 502, TypeAPI},
		{provider.KindContextLength, 400, TypeInvalidRequest},
		{provider.KindContentRejected, 400, TypeInvalidRequest},
		{provider.KindBadRequest, 400, TypeInvalidRequest},
		{provider.KindAuth, 502, TypeAPI},
		{provider.KindQuota, 503, TypeAPI},
		{provider.KindNotFound, 502, TypeAPI},
		{provider.KindUnknown, 502, TypeAPI},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			status, typ := KindStatus(tt.kind)
			if status != tt.wantStatus || typ != tt.wantType {
				t.Errorf("got %d %q, want %d %q", status, typ, tt.wantStatus, tt.wantType)
			}
		})
	}
}

func TestWriteErrorFor(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		status    int
		want      string
		wantRetry string
	}{
		{"bad request", &BadRequestError{Param: "max_tokens", Message: "max_tokens: field required"}, 400,
			`{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: field required"}}`, ""},
		{"context length keeps provider text", &provider.Error{Kind: provider.KindContextLength, Message: "prompt is too long: 300000 tokens > 200000 maximum"}, 400,
			`{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 300000 tokens > 200000 maximum"}}`, ""},
		{"rate limited with retry-after", &provider.Error{Kind: provider.KindRateLimited, RetryAfter: 3e9}, 429,
			`{"type":"error","error":{"type":"rate_limit_error","message":"upstream rate limit exceeded, retry later"}}`, "3"},
		{"upstream auth hides provider text", &provider.Error{Kind: provider.KindAuth, Message: "invalid x-api-key"}, 502,
			`{"type":"error","error":{"type":"api_error","message":"upstream authentication failed"}}`, ""},
		{"upstream not found hides provider text", &provider.Error{Kind: provider.KindNotFound, Status: 404, Message: "model: claude-internal"}, 502,
			`{"type":"error","error":{"type":"api_error","message":"upstream model or deployment not found"}}`, ""},
		{"unknown error hides cause", errFake("secret"), 500,
			`{"type":"error","error":{"type":"api_error","message":"internal error"}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteErrorFor(rec, tt.err)
			if rec.Code != tt.status || rec.Body.String() != tt.want || rec.Header().Get("Retry-After") != tt.wantRetry {
				t.Errorf("got %d %s retry %q, want %d %s retry %q", rec.Code, rec.Body.String(), rec.Header().Get("Retry-After"), tt.status, tt.want, tt.wantRetry)
			}
		})
	}
	rec := httptest.NewRecorder()
	WriteError(rec, http.StatusNotFound, "", "no such route")
	want := `{"type":"error","error":{"type":"not_found_error","message":"no such route"}}`
	if rec.Code != 404 || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("WriteError: got %d %s, want 404 %s", rec.Code, rec.Body.String(), want)
	}
}

type errFake string

func (e errFake) Error() string { return string(e) }
