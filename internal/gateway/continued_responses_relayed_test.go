package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestTranslatedResponseFollowUpOnOpenAINamesPrevious: a follow-up of a
// response the gateway translated (Anthropic) that an OpenAI deployment
// serves reaches it self-contained, yet its response object, whole or in
// a stream's events, names the response it continued, as when a
// translating deployment serves it.
func TestTranslatedResponseFollowUpOnOpenAINamesPrevious(t *testing.T) {
	ant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":2}}`)
	}))
	t.Cleanup(ant.Close)
	const object = `{"id":"resp_up1","object":"response","status":"completed","model":"m","previous_response_id":null,"output":[{"type":"message","id":"msg_up1","role":"assistant","status":"completed","content":[{"type":"output_text","text":"Again","annotations":[]}]}],"usage":{"input_tokens":9,"output_tokens":1,"total_tokens":10}}`
	oai := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if gjson.GetBytes(body, "previous_response_id").Exists() {
			t.Errorf("upstream got previous_response_id: %s", body)
		}
		if !gjson.GetBytes(body, "stream").Bool() {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, object)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		sseEvent(w, "response.created", `{"type":"response.created","sequence_number":0,"response":{"id":"resp_up1","object":"response","status":"in_progress","model":"m","previous_response_id":null,"output":[]}}`)
		sseEvent(w, "response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":1,"output_index":0,"content_index":0,"delta":"Again"}`)
		sseEvent(w, "response.completed", `{"type":"response.completed","sequence_number":2,"response":`+object+`}`)
	}))
	t.Cleanup(oai.Close)
	url := gw(t, `
providers:
  - {name: pa, kind: anthropic, base_url: "`+ant.URL+`"}
  - {name: po, kind: openai, base_url: "`+oai.URL+`/v1"}
deployments:
  - {name: a, provider: pa, model: m}
  - {name: o, provider: po, model: m}
routes:
  - {name: ant, targets: [a]}
  - {name: oai, targets: [o]}
`, &recs{})
	post := func(body string) *http.Response {
		t.Helper()
		resp, err := http.Post(url+"/v1/responses", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Fatalf("got %d %s, want 200", resp.StatusCode, b)
		}
		return resp
	}
	resp := post(`{"model":"ant","input":"Hi"}`)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := gjson.GetBytes(b, "id").Str

	resp = post(`{"model":"oai","input":"And?","previous_response_id":"` + id + `"}`)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := gjson.GetBytes(b, "previous_response_id").Str; got != id || gjson.GetBytes(b, "id").Str != "resp_up1" {
		t.Errorf("follow-up: %s, want resp_up1 naming previous_response_id %q", b, id)
	}

	resp = post(`{"model":"oai","stream":true,"input":"And?","previous_response_id":"` + id + `"}`)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	named := 0
	for sc.Scan() {
		d, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || !gjson.Get(d, "response").Exists() {
			continue
		}
		if got := gjson.Get(d, "response.previous_response_id").Str; got != id {
			t.Errorf("streamed %s: previous_response_id %q, want %q", gjson.Get(d, "type").Str, got, id)
		}
		named++
	}
	if named != 2 {
		t.Errorf("streamed: %d events with a response object, want 2", named)
	}
}
