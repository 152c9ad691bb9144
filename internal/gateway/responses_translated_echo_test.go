package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestTranslatedResponseEchoesPreviousResponseIDAndStore: a Responses API
// follow-up of a response the gateway translated is rewritten to carry the
// kept conversation instead of naming it, yet its response object (whole,
// or a stream's) names the response it continued, as OpenAI's does; and a
// translated response says it is stored (the gateway keeps it) unless the
// request set store false.
func TestTranslatedResponseEchoesPreviousResponseIDAndStore(t *testing.T) {
	url := anthropicGateway(t, &recs{}, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !gjson.GetBytes(body, "stream").Bool() {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":2}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		ev := func(name, data string) { sseEvent(w, name, data) }
		ev("message_start", `{"type":"message_start","message":{"id":"msg_2","type":"message","role":"assistant","model":"m","content":[],"usage":{"input_tokens":9,"output_tokens":1}}}`)
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Again"}}`)
		ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
		ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}`)
		ev("message_stop", `{"type":"message_stop"}`)
	})
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
	object := func(body string) gjson.Result {
		t.Helper()
		resp := post(body)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return gjson.ParseBytes(b)
	}

	first := object(`{"model":"auto","input":"Hi"}`)
	if first.Get("store").Raw != "true" || first.Get("previous_response_id").Raw != "null" {
		t.Errorf("first: store %s previous_response_id %s, want true and null", first.Get("store").Raw, first.Get("previous_response_id").Raw)
	}
	id := first.Get("id").Str

	follow := object(`{"model":"auto","input":"And?","previous_response_id":"` + id + `"}`)
	if got := follow.Get("previous_response_id").Str; got != id {
		t.Errorf("follow-up: previous_response_id %q, want %q", got, id)
	}

	resp := post(`{"model":"auto","stream":true,"store":false,"input":"Again?","previous_response_id":"` + id + `"}`)
	defer resp.Body.Close()
	var completed gjson.Result
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && gjson.Get(d, "type").Str == "response.completed" {
			completed = gjson.Get(d, "response")
		}
	}
	if got := completed.Get("previous_response_id").Str; got != id || completed.Get("store").Raw != "false" {
		t.Errorf("streamed follow-up: previous_response_id %q store %s, want %q and false", got, completed.Get("store").Raw, id)
	}
}
