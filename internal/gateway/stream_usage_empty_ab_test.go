package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
)

// TestStreamEmptyAnswerBillsReportedZero: an Anthropic stream's
// message_start reports a placeholder output count (1) and its
// message_delta the final one, which is 0 for an empty answer. The final
// 0 is the count: an OpenAI client's closing usage and the usage record
// say 0 output tokens, as the same answer not streamed does (found by
// audit AB: the placeholder 1 stayed).
func TestStreamEmptyAnswerBillsReportedZero(t *testing.T) {
	rec := &recs{}
	url := anthropicGateway(t, rec, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		sseEvent(w, "message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"usage":{"input_tokens":10,"output_tokens":1}}}`)
		sseEvent(w, "message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":0}}`)
		sseEvent(w, "message_stop", `{"type":"message_stop"}`)
	})
	body := `{"model":"auto","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"say nothing"}]}`
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(got), `"completion_tokens":0,`) {
		t.Errorf("got %d %s, want a closing usage of 0 completion tokens", resp.StatusCode, got)
	}
	clocktest.WaitFor(t, "the usage record", func() bool { return len(rec.all()) > 0 })
	if r := rec.all()[0]; r.OutputTokens != 0 || r.InputTokens != 10 || r.TokensEstimated {
		t.Errorf("got output %d input %d estimated %v, want the reported 0 and 10", r.OutputTokens, r.InputTokens, r.TokensEstimated)
	}
}
