package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/gateway"
)

// TestResponsesJSONObjectGoesToOpenAIDeployments: a Responses API request
// with text.format json_object, which Anthropic's API cannot be asked
// for, goes to the route's OpenAI deployment even when an Anthropic one
// comes first; a route with none is a 400 naming text.format, without an
// upstream call. A json_schema still goes to the Anthropic deployment.
func TestResponsesJSONObjectGoesToOpenAIDeployments(t *testing.T) {
	var antCalls atomic.Int32
	ant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		antCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"{}"}],"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":2}}`)
	}))
	t.Cleanup(ant.Close)
	oai := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"resp_up1","object":"response","status":"completed","model":"m","previous_response_id":null,"output":[{"type":"message","id":"msg_up1","role":"assistant","status":"completed","content":[{"type":"output_text","text":"{}","annotations":[]}]}],"usage":{"input_tokens":9,"output_tokens":1,"total_tokens":10}}`)
	}))
	t.Cleanup(oai.Close)
	url := gw(t, `
providers:
  - {name: pa, kind: anthropic, base_url: "`+ant.URL+`"}
  - {name: po, kind: openai, base_url: "`+oai.URL+`/v1"}
deployments:
  - {name: a, provider: pa, model: m, capabilities: {json_mode: true}}
  - {name: o, provider: po, model: m, capabilities: {json_mode: true}}
routes:
  - {name: ant-first, policy: fallback, targets: [a, o]}
  - {name: ant-only, targets: [a]}
`, &recs{})
	post := func(route, format string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Post(url+"/v1/responses", "application/json", strings.NewReader(`{"model":"`+route+`","input":"JSON please","text":{"format":`+format+`}}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	const jsonObject = `{"type":"json_object"}`
	resp, b := post("ant-first", jsonObject)
	if resp.StatusCode != 200 || resp.Header.Get(gateway.HeaderDeployment) != "o" {
		t.Errorf("route with an OpenAI deployment: got %d from %q %s, want 200 from o", resp.StatusCode, resp.Header.Get(gateway.HeaderDeployment), b)
	}
	resp, b = post("ant-only", jsonObject)
	if resp.StatusCode != 400 || gjson.GetBytes(b, "error.param").Str != "text.format" {
		t.Errorf("route without one: got %d %s, want a 400 naming text.format", resp.StatusCode, b)
	}
	if n := antCalls.Load(); n != 0 {
		t.Errorf("Anthropic calls for json_object: got %d, want 0", n)
	}
	resp, b = post("ant-first", `{"type":"json_schema","name":"x","schema":{"type":"object"}}`)
	if resp.StatusCode != 200 || resp.Header.Get(gateway.HeaderDeployment) != "a" {
		t.Errorf("json_schema: got %d from %q %s, want 200 from a", resp.StatusCode, resp.Header.Get(gateway.HeaderDeployment), b)
	}
}
