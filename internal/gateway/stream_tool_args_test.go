package gateway_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestStreamedToolCallWithoutArgumentsIsEmptyObject: Anthropic streams a
// call of a tool without parameters as input {} and one empty
// input_json_delta. An OpenAI client (chat, or the Responses API) must get
// its arguments as "{}", which its SDK's tool helpers parse, never "".
func TestStreamedToolCallWithoutArgumentsIsEmptyObject(t *testing.T) {
	url := anthropicGateway(t, &recs{}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		ev := func(name, data string) { sseEvent(w, name, data) }
		ev("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"usage":{"input_tokens":20,"output_tokens":1}}}`)
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_time","input":{}}}`)
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}`)
		ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
		ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}`)
		ev("message_stop", `{"type":"message_stop"}`)
	})
	// events posts body to path and returns the data of each SSE event.
	events := func(path, body string) []gjson.Result {
		t.Helper()
		resp, err := http.Post(url+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: got status %d, want 200", path, resp.StatusCode)
		}
		var out []gjson.Result
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && d != "[DONE]" {
				out = append(out, gjson.Parse(d))
			}
		}
		return out
	}
	tool := `{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{}}}}`

	t.Run("chat completions", func(t *testing.T) {
		var args strings.Builder
		var calls int
		for _, ev := range events("/v1/chat/completions", `{"model":"auto","stream":true,"tools":[`+tool+`],"messages":[{"role":"user","content":"time?"}]}`) {
			for _, tc := range ev.Get("choices.0.delta.tool_calls").Array() {
				if tc.Get("id").String() != "" {
					calls++
				}
				args.WriteString(tc.Get("function.arguments").String())
			}
		}
		if calls != 1 || args.String() != "{}" {
			t.Errorf("got %d calls with arguments %q, want 1 with {}", calls, args.String())
		}
	})

	t.Run("responses", func(t *testing.T) {
		var done, item, completed string
		for _, ev := range events("/v1/responses", `{"model":"auto","stream":true,"tools":[{"type":"function","name":"get_time","parameters":{"type":"object","properties":{}}}],"input":"time?"}`) {
			switch ev.Get("type").String() {
			case "response.function_call_arguments.done":
				done = ev.Get("arguments").Raw
			case "response.output_item.done":
				item = ev.Get("item.arguments").Raw
			case "response.completed":
				completed = ev.Get("response.output.0.arguments").Raw
			}
		}
		if done != `"{}"` || item != `"{}"` || completed != `"{}"` {
			t.Errorf("got arguments %s (done) %s (item) %s (completed), want \"{}\" in each", done, item, completed)
		}
	})
}
