package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tidwall/gjson"
)

// TestTranslatedResponsesEmptyInputRefused: a Responses API request with
// no input (missing, empty, or instructions alone) for an Anthropic
// deployment is refused by the gateway, a 400 naming input, without an
// upstream call; a follow-up naming a translated response with no input
// of its own still goes, with the kept conversation.
func TestTranslatedResponsesEmptyInputRefused(t *testing.T) {
	var calls atomic.Int32
	var last atomic.Value
	url := anthropicGateway(t, &recs{}, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		last.Store(string(b))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":2}}`)
	})
	post := func(body string) (int, []byte) {
		t.Helper()
		resp, err := http.Post(url+"/v1/responses", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	for _, body := range []string{
		`{"model":"auto"}`,
		`{"model":"auto","input":[]}`,
		`{"model":"auto","input":null,"instructions":"Be brief."}`,
		`{"model":"auto","input":[{"role":"developer","content":"Be brief."}]}`,
		`{"model":"auto","stream":true,"input":[]}`,
	} {
		status, b := post(body)
		if status != 400 || gjson.GetBytes(b, "error.param").Str != "input" {
			t.Errorf("%s: got %d %s, want a 400 naming input", body, status, b)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("upstream calls: got %d, want 0", n)
	}

	status, b := post(`{"model":"auto","input":"Hi"}`)
	if status != 200 {
		t.Fatalf("first: got %d %s", status, b)
	}
	id := gjson.GetBytes(b, "id").Str
	status, b = post(`{"model":"auto","input":[],"previous_response_id":"` + id + `"}`)
	if status != 200 {
		t.Fatalf("follow-up with no input: got %d %s, want 200", status, b)
	}
	if got := gjson.Get(last.Load().(string), "messages.#").Int(); got != 2 {
		t.Errorf("follow-up upstream messages: got %d (%s), want 2 (the kept conversation)", got, last.Load())
	}
}
