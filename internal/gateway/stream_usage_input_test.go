package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
)

// TestStreamWithoutReportedInputIsEstimated: an Anthropic-compatible
// upstream whose message_start carries no usage reported no input count.
// The call is billed the estimate of the request's input, marked
// estimated, never 0 input tokens as if the provider had counted them;
// the output count the provider reported is kept, and without one the
// output is estimated too.
func TestStreamWithoutReportedInputIsEstimated(t *testing.T) {
	for _, tt := range []struct {
		name     string
		delta    string // message_delta's usage member
		wantOut  int    // 0: any estimate above 0
		path     string
		bodyTail string
	}{
		{"output reported, messages client", `,"usage":{"output_tokens":5}`, 5, "/v1/messages", `"max_tokens":100,`},
		{"output reported, chat client", `,"usage":{"output_tokens":5}`, 5, "/v1/chat/completions", `"stream_options":{"include_usage":true},`},
		{"no usage at all, messages client", ``, 0, "/v1/messages", `"max_tokens":100,`},
		{"no usage at all, chat client", ``, 0, "/v1/chat/completions", ``},
		// The byte estimate (about 8 tokens) is never more than the
		// request allowed (found by audit P).
		{"no usage, estimate within max_tokens", ``, 2, "/v1/chat/completions", `"max_tokens":2,`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recs{}
			url := anthropicGateway(t, rec, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				ev := func(name, data string) { sseEvent(w, name, data) }
				ev("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null}}`)
				ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
				ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello there, how are you today?"}}`)
				ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
				ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null}`+tt.delta+`}`)
				ev("message_stop", `{"type":"message_stop"}`)
			})
			body := `{"model":"auto","stream":true,` + tt.bodyTail + `"messages":[{"role":"user","content":"` + strings.Repeat("tell me a story ", 20) + `"}]}`
			req, _ := http.NewRequest("POST", url+tt.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("anthropic-version", "2023-06-01")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(got), "hello there") {
				t.Fatalf("got %d %s, want the answer", resp.StatusCode, got)
			}
			// The record is written as the handler returns, which may be
			// after the client read the end.
			clocktest.WaitFor(t, "the usage record", func() bool { return len(rec.all()) > 0 })
			rs := rec.all()
			if len(rs) != 1 {
				t.Fatalf("got %d usage records, want 1", len(rs))
			}
			r := rs[0]
			if !r.TokensEstimated || r.InputTokens < 20 || r.Partial {
				t.Errorf("got estimated %v input %d partial %v, want an estimated input of at least 20 tokens, complete", r.TokensEstimated, r.InputTokens, r.Partial)
			}
			if tt.wantOut != 0 && r.OutputTokens != tt.wantOut {
				t.Errorf("got output %d, want the reported %d", r.OutputTokens, tt.wantOut)
			}
			if r.OutputTokens == 0 {
				t.Errorf("got output 0, want an estimate of the answer")
			}
			// The client's closing usage shows the input it is billed.
			if strings.Contains(tt.bodyTail, "include_usage") {
				i := strings.LastIndex(string(got), `"prompt_tokens":`)
				if i < 0 || !strings.HasPrefix(string(got[i:]), fmt.Sprintf(`"prompt_tokens":%d,`, r.InputTokens)) {
					t.Errorf("closing usage %q, want prompt_tokens %d as billed", got[max(i, 0):], r.InputTokens)
				}
			}
		})
	}
}
