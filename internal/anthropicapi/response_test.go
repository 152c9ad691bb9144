package anthropicapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"

	"github.com/switchyard-gw/switchyard/internal/dialecttest"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

func TestWriteResponsePassthrough(t *testing.T) {
	dialecttest.ResponsePassthrough(t, dialect, `{"id":"msg_x","type":"message","model":"claude-haiku","content":[]}`)
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
			wantID: "msg_test", wantStop: "end_turn", want: `[{"type":"text","text":"hello"}]`,
		},
		{
			name: "tool calls with bad and missing arguments",
			resp: llm.Response{Model: "gpt-4o", Text: "calling", FinishReason: llm.FinishToolCalls, ToolCalls: []llm.ToolCall{
				{ID: "call_1", Name: "f", Arguments: ` {"a": [1]} `}, {Name: "g", Arguments: "not json"}, {ID: "call_3", Name: "h"}}},
			wantID: "msg_test", wantStop: "tool_use",
			want: `[{"type":"text","text":"calling"},{"type":"tool_use","id":"call_1","name":"f","input":{"a":[1]}},{"type":"tool_use","id":"toolu_test","name":"g","input":{}},{"type":"tool_use","id":"call_3","name":"h","input":{}}]`,
		},
		{
			name:   "tool calls finished with stop (Gemini's OpenAI-compatible API) are tool_use",
			resp:   llm.Response{Model: "gpt-4o", FinishReason: llm.FinishStop, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "f", Arguments: `{}`}}},
			wantID: "msg_test", wantStop: "tool_use", want: `[{"type":"tool_use","id":"call_1","name":"f","input":{}}]`,
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

// TestWriteResponseStopSequence: an answer a stop sequence ended has
// stop_reason stop_sequence and names the sequence when the provider did;
// one that calls tools is tool_use still.
func TestWriteResponseStopSequence(t *testing.T) {
	for _, tt := range []struct {
		name     string
		seq      *string
		calls    []llm.ToolCall
		wantStop string
		wantSeq  string // JSON
	}{
		{"named", new("STOP1"), nil, "stop_sequence", `"STOP1"`},
		{"not named", new(""), nil, "stop_sequence", `null`},
		{"none", nil, nil, "end_turn", `null`},
		{"with tool calls", new("STOP1"), []llm.ToolCall{{ID: "call_1", Name: "f", Arguments: "{}"}}, "tool_use", `null`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			resp := llm.Response{Model: "m", Text: "x", FinishReason: llm.FinishStop, StopSequence: tt.seq, ToolCalls: tt.calls}
			if err := writeResponse(rec, &resp, testIDs); err != nil {
				t.Fatal(err)
			}
			var got struct {
				StopReason   string          `json:"stop_reason"`
				StopSequence json.RawMessage `json:"stop_sequence"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.StopReason != tt.wantStop || string(got.StopSequence) != tt.wantSeq {
				t.Errorf("got stop_reason %q, stop_sequence %s; want %q, %s", got.StopReason, got.StopSequence, tt.wantStop, tt.wantSeq)
			}
		})
	}
}

// TestWriteResponseCachedTokens: a translated answer splits the input as
// Anthropic does: input_tokens leaves out the prompt-cache reads and writes.
func TestWriteResponseCachedTokens(t *testing.T) {
	rec := httptest.NewRecorder()
	resp := llm.Response{Model: "gpt-4o", Text: "hi", FinishReason: llm.FinishStop, Usage: llm.Usage{InputTokens: 500, CachedInputTokens: 300, CacheWriteTokens: 100, OutputTokens: 4}}
	if err := writeResponse(rec, &resp, testIDs); err != nil {
		t.Fatal(err)
	}
	var m anthropic.Message
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if u := m.Usage; u.InputTokens != 100 || u.CacheReadInputTokens != 300 || u.CacheCreationInputTokens != 100 || u.OutputTokens != 4 {
		t.Errorf("usage %+v, want 100 plain, 300 read, 100 written, 4 out", u)
	}
}

func TestKindStatus(t *testing.T) {
	dialecttest.KindStatuses(t, dialect, []dialecttest.KindCase{
		{Kind: provider.KindRateLimited, Status: 429, Code: TypeRateLimit},
		{Kind: provider.KindUnavailable, Status: 529, Code: TypeOverloaded},
		{Kind: provider.KindTimeout, Status: 504, Code: TypeTimeout},
		{Kind: provider.KindConnection, Status: 502, Code: TypeAPI},
		{Kind: provider.KindContextLength, Status: 400, Code: TypeInvalidRequest},
		{Kind: provider.KindContentRejected, Status: 400, Code: TypeInvalidRequest},
		{Kind: provider.KindBadRequest, Status: 400, Code: TypeInvalidRequest},
		{Kind: provider.KindAuth, Status: 502, Code: TypeAPI},
		{Kind: provider.KindQuota, Status: 503, Code: TypeAPI},
		{Kind: provider.KindNotFound, Status: 502, Code: TypeAPI},
		{Kind: provider.KindUnknown, Status: 502, Code: TypeAPI},
	})
}

func TestWriteErrorFor(t *testing.T) {
	dialecttest.ErrorResponses(t, dialect, []dialecttest.ErrorCase{
		{
			Name:   "bad request",
			Err:    &BadRequestError{Param: "max_tokens", Message: "max_tokens: field required"},
			Status: 400,
			Body:   `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: field required"}}`,
		},
		{
			Name:   "context length keeps provider text",
			Err:    &provider.Error{Kind: provider.KindContextLength, Message: "prompt is too long: 300000 tokens > 200000 maximum"},
			Status: 400,
			Body:   `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 300000 tokens > 200000 maximum"}}`,
		},
		{
			Name:   "an upstream refusal as too large stays a 413",
			Err:    &provider.Error{Kind: provider.KindBadRequest, Status: 413, Message: "Request exceeds the maximum allowed number of bytes."},
			Status: 413,
			Body:   `{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}`,
		},
		{
			Name:       "rate limited with retry-after",
			Err:        &provider.Error{Kind: provider.KindRateLimited, RetryAfter: 3e9},
			Status:     429,
			Body:       `{"type":"error","error":{"type":"rate_limit_error","message":"upstream rate limit exceeded, retry later"}}`,
			RetryAfter: "3",
		},
		{
			Name:   "upstream auth hides provider text",
			Err:    &provider.Error{Kind: provider.KindAuth, Message: "invalid x-api-key"},
			Status: 502,
			Body:   `{"type":"error","error":{"type":"api_error","message":"upstream authentication failed"}}`,
		},
		{
			Name:   "upstream not found hides provider text",
			Err:    &provider.Error{Kind: provider.KindNotFound, Status: 404, Message: "model: claude-internal"},
			Status: 502,
			Body:   `{"type":"error","error":{"type":"api_error","message":"upstream model or deployment not found"}}`,
		},
		{
			Name:   "unknown error hides cause",
			Err:    errors.New("secret"),
			Status: 500,
			Body:   `{"type":"error","error":{"type":"api_error","message":"internal error"}}`,
		},
	})
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, http.StatusNotFound, "", "no such route")
	want := `{"type":"error","error":{"type":"not_found_error","message":"no such route"}}`
	if rec.Code != 404 || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("WriteError: got %d %s, want 404 %s", rec.Code, rec.Body.String(), want)
	}
}
