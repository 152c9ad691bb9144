package gateway_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestEmptyTurnsReachAnthropic: a conversation holding a turn with no
// content (an OpenAI refusal, whose content is null; an empty answer; the
// gateway's own stored answer to a refused Responses request, replayed by
// previous_response_id) is answered by an Anthropic deployment, here the
// simulator, which refuses empty content as the Messages API does.
func TestEmptyTurnsReachAnthropic(t *testing.T) {
	simURL := startInstantSim(t)
	target, err := url.Parse(simURL)
	if err != nil {
		t.Fatal(err)
	}
	toSim := httputil.NewSingleHostReverseProxy(target)
	// The deployment refuses the first question of a conversation with
	// no content, as Claude does; everything else goes to the simulator.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if gjson.GetBytes(body, "messages.#").Int() == 1 && strings.Contains(string(body), "refuse me") {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"msg_1","type":"message","role":"assistant","model":"sim-large","content":[],"stop_reason":"refusal","usage":{"input_tokens":5,"output_tokens":0}}`)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		toSim.ServeHTTP(w, r)
	}))
	t.Cleanup(up.Close)
	base := gw(t, `
providers:
  - {name: an, kind: anthropic, base_url: "`+up.URL+`"}
deployments:
  - {name: claude, provider: an, model: sim-large}
routes:
  - {name: auto, targets: [claude]}
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

	for _, assistant := range []string{
		`{"role":"assistant","content":null,"refusal":"I cannot help with that"}`,
		`{"role":"assistant","content":""}`,
		`{"role":"assistant","content":[]}`,
	} {
		post("/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":"q"},`+assistant+`,{"role":"user","content":"q2"}]}`)
	}
	post("/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":""},{"role":"assistant","content":"hello"},{"role":"user","content":"q"}]}`)

	first := post("/v1/responses", `{"model":"auto","input":"refuse me"}`)
	if got := first.Get("output.0.content.0.text"); got.Str != "" {
		t.Fatalf("first answer: got %s, want an empty refusal", first.Raw)
	}
	post("/v1/responses", `{"model":"auto","input":"q2","previous_response_id":"`+first.Get("id").Str+`"}`)
}
