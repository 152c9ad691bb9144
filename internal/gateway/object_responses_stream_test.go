package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// bgStreamGateway serves route auto over one OpenAI deployment, d (its
// timeout 50ms, its stream timeouts given), whose upstream makes a
// background response, resp_bg1, and streams it to GET
// /responses/resp_bg1?stream=true with stream. It returns the gateway's URL
// once the gateway knows resp_bg1.
func bgStreamGateway(t *testing.T, streamTimeouts string, stream func(w http.ResponseWriter, r *http.Request)) string {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/responses":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"resp_bg1","object":"response","status":"queued","background":true,"model":"m","output":[{"type":"message","id":"msg_1","role":"assistant","content":[]}]}`)
		case r.Method == http.MethodGet && r.URL.Path == "/v1/responses/resp_bg1" && r.URL.Query().Get("stream") == "true":
			w.Header().Set("Content-Type", "text/event-stream")
			stream(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(up.Close)
	url := gw(t, `
providers:
  - {name: p, kind: openai, base_url: "`+up.URL+`/v1"}
deployments:
  - {name: d, provider: p, model: m, timeout: 50ms, `+streamTimeouts+`}
routes:
  - {name: auto, targets: [d]}
`, &recs{})
	resp, err := http.Post(url+"/v1/responses", "application/json", strings.NewReader(`{"model":"auto","input":"hi","background":true}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || gjson.GetBytes(b, "id").Str != "resp_bg1" {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	return url
}

// bgEvents resumes resp_bg1's stream through the gateway and returns the
// types and sequence numbers of its events.
func bgEvents(t *testing.T, url string) (types []string, seqs []int64) {
	t.Helper()
	resp, err := http.Get(url + "/v1/responses/resp_bg1?stream=true&starting_after=0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			types = append(types, gjson.Get(d, "type").Str)
			seqs = append(seqs, gjson.Get(d, "sequence_number").Int())
			if gjson.Get(d, "type").Str == "error" && gjson.Get(d, "error.message").Str == "" {
				t.Errorf("error event without an error object: %s", d)
			}
		}
	}
	return types, seqs
}

func bgEvent(w http.ResponseWriter, typ string, seq int) {
	sseEvent(w, typ, fmt.Sprintf(`{"type":%q,"sequence_number":%d}`, typ, seq))
	w.(http.Flusher).Flush()
}

// TestBackgroundResponseStreamOutlivesTimeout: a resumed background
// response's stream is bounded by the stream timeouts, not by the
// deployment's (non-streaming) timeout: one that lasts longer than timeout
// is relayed whole.
func TestBackgroundResponseStreamOutlivesTimeout(t *testing.T) {
	url := bgStreamGateway(t, "first_token_timeout: 10s, idle_timeout: 10s", func(w http.ResponseWriter, r *http.Request) {
		bgEvent(w, "response.output_text.delta", 1)
		// Past the deployment's 50ms timeout: a stream of a long job
		// lasts longer than a non-streaming call may.
		select {
		case <-time.After(200 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		bgEvent(w, "response.output_text.delta", 2)
		bgEvent(w, "response.completed", 3)
	})
	types, _ := bgEvents(t, url)
	if want := "response.output_text.delta,response.output_text.delta,response.completed"; strings.Join(types, ",") != want {
		t.Errorf("events: got %v, want %s", types, want)
	}
}

// TestBackgroundResponseStreamCutEndsWithError: a resumed background
// response's stream that ends before its terminal event (the upstream
// closed it, or fell silent past idle_timeout) ends with an in-band error
// event, next in sequence, never with a clean end the client would take
// for the whole answer.
func TestBackgroundResponseStreamCutEndsWithError(t *testing.T) {
	for name, stream := range map[string]func(http.ResponseWriter, *http.Request){
		"closed": func(w http.ResponseWriter, r *http.Request) {
			bgEvent(w, "response.output_text.delta", 4)
		},
		"silent": func(w http.ResponseWriter, r *http.Request) {
			bgEvent(w, "response.output_text.delta", 4)
			<-r.Context().Done()
		},
	} {
		t.Run(name, func(t *testing.T) {
			url := bgStreamGateway(t, "first_token_timeout: 10s, idle_timeout: 100ms", stream)
			types, seqs := bgEvents(t, url)
			if strings.Join(types, ",") != "response.output_text.delta,error" || seqs[1] != 5 {
				t.Errorf("events: got %v %v, want a delta then an error event numbered 5", types, seqs)
			}
		})
	}
}
