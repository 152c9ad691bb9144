package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestToolHistoryWithoutTools: a conversation that called tools, sent
// with no tools (a final summary turn, a Responses follow-up with
// function_call_output that does not send the tools again), is answered
// by Anthropic and Bedrock deployments, here the simulator, which refuses
// tool calls and results in a request that defines no tools as the
// Messages API and Converse do.
func TestToolHistoryWithoutTools(t *testing.T) {
	simURL := startInstantSim(t)
	base := gw(t, `
providers:
  - {name: an, kind: anthropic, base_url: "`+simURL+`"}
  - {name: br, kind: bedrock, region: us-east-1, base_url: "`+simURL+`", api_key: k}
deployments:
  - {name: claude, provider: an, model: sim-large}
  - {name: bedrock, provider: br, model: sim-large}
routes:
  - {name: a, targets: [claude]}
  - {name: b, targets: [bedrock]}
`, &recs{})
	post := func(path, body string) gjson.Result {
		t.Helper()
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: got %d %s, want 200", body, resp.StatusCode, b)
		}
		return gjson.ParseBytes(b)
	}
	const history = `{"role":"user","content":"weather?"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},` +
		`{"role":"tool","tool_call_id":"call_1","content":"sunny"}`
	for _, route := range []string{"a", "b"} {
		t.Run(route, func(t *testing.T) {
			got := post("/v1/chat/completions", `{"model":"`+route+`","max_tokens":20,"messages":[`+history+`]}`)
			if fr := got.Get("choices.0.finish_reason").Str; fr != "stop" && fr != "length" {
				t.Errorf("after the tool result: got %s, want an answer", got.Raw)
			}
			first := post("/v1/responses", `{"model":"`+route+`","input":"weather?","tool_choice":"required",`+
				`"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}]}`)
			call := first.Get(`output.#(type=="function_call")`)
			if !call.Exists() {
				t.Fatalf("first response: got %s, want a function call", first.Raw)
			}
			post("/v1/responses", `{"model":"`+route+`","previous_response_id":"`+first.Get("id").Str+`",`+
				`"input":[{"type":"function_call_output","call_id":"`+call.Get("call_id").Str+`","output":"sunny"}]}`)
		})
	}
	// The Anthropic deployment is told to call none of the tools it is
	// shown for the history: a summary turn is answered in text.
	got := post("/v1/chat/completions", `{"model":"a","max_tokens":20,"messages":[`+history+`,{"role":"user","content":"sum up"}]}`)
	if fr := got.Get("choices.0.finish_reason").Str; fr == "tool_calls" {
		t.Errorf("summary turn: got %s, want no tool call", got.Raw)
	}
}
