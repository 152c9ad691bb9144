package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// fuzzPaths are the client endpoints FuzzGateway posts to.
var fuzzPaths = []string{"/v1/chat/completions", "/v1/messages", "/v1/responses", "/v1/embeddings", "/v1/messages/count_tokens", "/v1/completions", "/v1/moderations", "/v1/images/generations", "/v1/audio/speech", "/v1/audio/transcriptions", "/v1/images/edits", "/v1/images/variations", "/v1/videos", "/v1/realtime/client_secrets", "/v1/conversations", "/v1/conversations/conv_x/items", "/v1/responses/compact", "/v1/responses/input_tokens"}

// FuzzGateway posts arbitrary bodies to every client endpoint of a live
// gateway in front of the simulator, to deployments of both APIs (so
// translation runs both ways): whatever the body, the gateway answers
// (never drops the connection, as a panic would), with no 500, and a
// refusal is a JSON error in the endpoint's API's shape.
func FuzzGateway(f *testing.F) {
	seeds := []string{
		`{"model":"claude","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"medium","max_tokens":20,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`,
		`{"model":"claude","stream":true,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`,
		`{"model":"claude","messages":[{"role":"user","content":"w"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"f"}}}`,
		`{"model":"claude","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{"}}]},{"role":"tool","tool_call_id":"c","content":"1"}]}`,
		`{"model":"medium","max_tokens":9,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"x","content":[{"type":"text","text":"r"}]}]}],"thinking":{"type":"enabled","budget_tokens":1}}`,
		`{"model":"claude","input":[{"type":"function_call_output","call_id":"c","output":"x"}],"text":{"format":{"type":"json_schema","name":"n","schema":{}}}}`,
		`{"model":"claude","input":"hi","previous_response_id":"resp_x","stream":true}`,
		`{"model":"auto","input":["a",1,null]}`,
		`{"model":"claude","messages":[{"role":"user","content":null}],"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}`,
		`{"model":"medium","prompt":"def f(","suffix":"\n","max_tokens":5}`,
		`{"model":"claude","messages":[{"role":"user","content":"hi"}],"max_tokens":-1,"temperature":"hot","stop":[1]}`,
		`{"model":"claude","messages":{},"n":2}`,
		`{"model":"claude","reasoning_effort":"low","messages":[{"role":"assistant","thinking_blocks":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"redacted_thinking"}],"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"1"}]}`,
		`{"model":"medium","messages":[{"role":"assistant","content":"a","thinking_blocks":[{"type":"x"}]},{"role":"user","content":"b"}]}`,
		`{"model":"claude","input":[{"type":"reasoning","summary":[],"encrypted_content":"switchyard-thinking:e30"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"}]}`,
		`{"model":"medium","input":[{"type":"reasoning","encrypted_content":"switchyard-thinking:!!"},"x"]}`,
		`{"model":"bedrock","stream":true,"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/gif;base64,R0lG"}}]},{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"}`,
		`{"model":"bedrock","max_tokens":50,"system":"s","messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"}]}],"thinking":{"type":"enabled","budget_tokens":1024}}`,
		`{"model":"bedrock","input":[{"role":"user","content":"hi"}],"text":{"format":{"type":"json_schema","name":"n","schema":{"type":"object"}}}}`,
		`{"model":"titan","input":["a","b"],"encoding_format":"base64","dimensions":256,"input_type":"x"}`,
		`{"model":"titan","input":[[1],"b"],"dimensions":0.5}`,
		`{"input":["ok","forbidden"]}`,
		`{"model":"mod","input":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}]}`,
		`{"prompt":"a train","n":2,"size":"256x256"}`,
		`{"model":"img","prompt":"forbidden","n":1.0}`,
		`{"model":"tts","input":"hello","voice":"alloy","response_format":"wav"}`,
		`{"model":"vid","prompt":"a train","seconds":"8","size":"1280x720"}`,
		`{"prompt":"forbidden","seconds":121}`,
		`{"items":[{"type":"message","role":"user","content":"hi"}],"metadata":{"a":"b"}}`,
		`{"model":"medium","input":"hi","conversation":{"id":"conv_x"}}`,
		`{"model":"medium","input":[{"type":"compaction","encrypted_content":"x"},{"role":"user","content":"and?"}]}`,
		`{"input":[{"role":"user","content":"count"}],"previous_response_id":5}`,
		`[]`, `null`, `{`, `{"model":1}`, "\x00\xff", `{"model":"claude","messages":[{"role":"user","content":"\ud800"}]}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	fx := newFixture(f)
	// Bedrock too: every request is translated for it.
	text := strings.NewReplacer("max_body_bytes: 2048", "max_body_bytes: 65536",
		"deployments:\n", "  - {name: sim-bedrock, kind: bedrock, region: us-east-1, base_url: \"{{SIM}}\", api_key: k}\ndeployments:\n  - {name: bedrock, provider: sim-bedrock, model: sim-large}\n  - {name: titan, provider: sim-bedrock, model: sim-titan-embed-text-v2, capabilities: {chat: false, embeddings: true}}\n  - {name: mod, provider: sim-openai, model: sim-moderation, capabilities: {chat: false, moderation: true}}\n  - {name: img, provider: sim-openai, model: sim-image, capabilities: {chat: false, images: true}}\n  - {name: tts, provider: sim-openai, model: sim-tts, capabilities: {chat: false, speech: true}}\n  - {name: vid, provider: sim-openai, model: sim-video, capabilities: {chat: false, video: true}}\n").Replace(gwConfig)
	cfg := fx.conf(text)
	if err := fx.gw.Apply(cfg); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		path := fuzzPaths[int(which)%len(fuzzPaths)]
		req, err := http.NewRequest("POST", fx.url+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if which&0x80 != 0 {
			req.Header.Set("anthropic-version", "2023-06-01")
		}
		resp, err := fx.hc.Do(req)
		if err != nil {
			t.Fatalf("POST %s %q: %v (the gateway dropped the connection)", path, body, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("POST %s %q: reading the answer: %v", path, body, err)
		}
		if resp.StatusCode == http.StatusInternalServerError {
			t.Fatalf("POST %s %q: 500 %s", path, body, b)
		}
		if resp.StatusCode >= 400 {
			var e struct {
				Error *struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(b, &e); err != nil || e.Error == nil || e.Error.Message == "" {
				t.Fatalf("POST %s %q: %d %s, want a JSON error with a message", path, body, resp.StatusCode, b)
			}
			anthropicShape := bytes.HasPrefix(b, []byte(`{"type":"error"`))
			if want := strings.HasPrefix(path, "/v1/messages"); anthropicShape != want {
				t.Fatalf("POST %s %q: %d %s: Anthropic's shape %v, want %v", path, body, resp.StatusCode, b, anthropicShape, want)
			}
		}
	})
}
