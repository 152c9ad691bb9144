package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCascadeReplayStopSequence: a cascade's answer streamed to the client
// is replayed from the finished answer, and keeps the stop sequence that
// ended it: an Anthropic client reads stop_reason stop_sequence and the
// sequence, as from the same answer not replayed.
func TestCascadeReplayStopSequence(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"output":{"message":{"role":"assistant","content":[{"text":"one two"}]}},"stopReason":"stop_sequence","additionalModelResponseFields":{"stop_sequence":"STOP1"},"usage":{"inputTokens":5,"outputTokens":2,"totalTokens":7}}`)
	}))
	defer up.Close()
	url := gw(t, `
providers:
  - {name: br, kind: bedrock, region: us-east-1, base_url: "`+up.URL+`", api_key: k}
deployments:
  - {name: small, provider: br, model: s}
  - {name: big, provider: br, model: b}
routes:
  - {name: auto, policy: cascade, targets: [small, big], checks: [{min_length: 1}]}
`, nil)
	req, err := http.NewRequest("POST", url+"/v1/messages", strings.NewReader(`{"model":"auto","max_tokens":50,"stream":true,"stop_sequences":["STOP1"],"messages":[{"role":"user","content":"count"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "event: message_stop") {
		t.Fatalf("got %d %s, want a complete stream", resp.StatusCode, b)
	}
	if want := `"stop_reason":"stop_sequence","stop_sequence":"STOP1"`; !strings.Contains(string(b), want) {
		t.Errorf("got stream %s, want its message_delta to hold %s", b, want)
	}
}
