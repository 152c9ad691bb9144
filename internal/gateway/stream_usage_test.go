package gateway_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/gateway"
)

// goneAfter is a ResponseWriter whose client is gone as soon as the
// stream's terminator is written: everything before it was delivered.
type goneAfter struct {
	h    http.Header
	body bytes.Buffer
	mark string
}

func (w *goneAfter) Header() http.Header { return w.h }
func (w *goneAfter) WriteHeader(int)     {}
func (w *goneAfter) Flush()              {}
func (w *goneAfter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.mark)) {
		return 0, errors.New("client gone")
	}
	return w.body.Write(p)
}

// TestStreamFinalUsageThenClientGoneIsMeasured: the provider reported its
// final usage (after the finish reason) and the client went away only
// while the terminator was written. The record is partial (the client did
// not get all of it) but its token counts are the provider's, not an
// estimate.
func TestStreamFinalUsageThenClientGoneIsMeasured(t *testing.T) {
	tests := []struct {
		name, kind, path, body, mark string
		upstream                     func(w http.ResponseWriter)
		wantIn, wantOut              int
	}{
		{
			name: "openai", kind: "openai", path: "/v1/chat/completions", mark: "[DONE]",
			body: `{"model":"auto","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			upstream: func(w http.ResponseWriter) {
				chunk := `data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":%s,"finish_reason":%s}]}` + "\n\n"
				fmt.Fprintf(w, chunk, `{"role":"assistant","content":"hello"}`, "null")
				fmt.Fprintf(w, chunk, `{}`, `"stop"`)
				fmt.Fprint(w, `data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[],"usage":{"prompt_tokens":321,"completion_tokens":654,"total_tokens":975}}`+"\n\n")
				fmt.Fprint(w, "data: [DONE]\n\n")
			},
			wantIn: 321, wantOut: 654,
		},
		{
			name: "anthropic", kind: "anthropic", path: "/v1/messages", mark: "message_stop",
			body: `{"model":"auto","stream":true,"max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`,
			upstream: func(w http.ResponseWriter) {
				ev := func(name, data string) { fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data) }
				ev("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"usage":{"input_tokens":321,"output_tokens":1}}}`)
				ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
				ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello"}}`)
				ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
				ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":654}}`)
				ev("message_stop", `{"type":"message_stop"}`)
			},
			wantIn: 321, wantOut: 654,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				tt.upstream(w)
			}))
			defer up.Close()
			base := up.URL
			if tt.kind == "openai" {
				base += "/v1"
			}
			c, err := config.Parse([]byte(`
providers:
  - {name: p, kind: `+tt.kind+`, base_url: "`+base+`"}
deployments:
  - {name: d, provider: p, model: m}
routes:
  - {name: auto, targets: [d]}
`), func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			rec := &recs{}
			g := gateway.New(gateway.Options{Executor: executor.New(executor.Options{}), Recorder: rec})
			if err := g.Apply(c); err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			req := httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("anthropic-version", "2023-06-01")
			w := &goneAfter{h: http.Header{}, mark: tt.mark}
			g.Handler().ServeHTTP(w, req)
			rs := rec.all()
			if len(rs) != 1 {
				t.Fatalf("got %d usage records, want 1", len(rs))
			}
			r := rs[0]
			if !strings.Contains(w.body.String(), "hello") {
				t.Fatalf("the client got %q, want the answer before the terminator", w.body.String())
			}
			if !r.Partial || r.TokensEstimated || r.InputTokens != tt.wantIn || r.OutputTokens != tt.wantOut {
				t.Errorf("got partial %v estimated %v tokens %d/%d, want partial, measured %d/%d",
					r.Partial, r.TokensEstimated, r.InputTokens, r.OutputTokens, tt.wantIn, tt.wantOut)
			}
		})
	}
}
