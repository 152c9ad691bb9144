package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

// TestShutdownCutsSlowReaderAsShutdown: a stream still running at the
// shutdown deadline whose client reads too slowly for the gateway's
// writes to go through (here: not at all) is cut when the server closes
// its connection. It is recorded, logged and counted as ended by the
// shutdown (error shutdown, partial), not as the client leaving (it was
// client_cancelled), and its usage record is in the store, not left in
// the spool, when Serve returns (its handler was still writing it while
// the ledger stopped).
func TestShutdownCutsSlowReaderAsShutdown(t *testing.T) {
	x := strings.Repeat("x", 32<<10)
	// Chat Completions, and the legacy Completions and Responses APIs
	// relayed to an OpenAI deployment, whose streams are another dialect's
	// events through the same stream loop.
	for _, tt := range []struct{ path, body, event string }{
		{"/v1/chat/completions", `{"model":"small","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"flood","choices":[{"index":0,"delta":{"content":"` + x + `"}}]}`},
		{"/v1/completions", `{"model":"small","stream":true,"prompt":"hi"}`,
			`data: {"id":"c1","object":"text_completion","created":1,"model":"flood","choices":[{"index":0,"text":"` + x + `","finish_reason":null}]}`},
		{"/v1/responses", `{"model":"small","stream":true,"input":"hi"}`,
			"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,\"delta\":\"" + x + "\"}"},
		// Streamed images and speech, relayed event by event through the
		// relay's own stream loop (relayStream).
		{"/v1/images/generations", `{"model":"painter","stream":true,"prompt":"hi"}`,
			"event: image_generation.partial_image\ndata: {\"type\":\"image_generation.partial_image\",\"partial_image_index\":0,\"b64_json\":\"" + x + "\"}"},
		{"/v1/audio/speech", `{"model":"voice","stream_format":"sse","input":"hi","voice":"alloy"}`,
			`data: {"type":"speech.audio.delta","audio":"` + x + `"}`},
	} {
		t.Run(tt.path, func(t *testing.T) { shutdownCutsSlowReader(t, tt.path, tt.body, tt.event) })
	}
}

func shutdownCutsSlowReader(t *testing.T, path, body, event string) {
	// An upstream that streams as fast as the gateway reads, until the
	// gateway stops reading for a second: its writes to the client are
	// blocked.
	blocked := make(chan struct{})
	flood := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		floodEvents(w, event)
		close(blocked)
		<-r.Context().Done()
	})
	slowReaderAtShutdown(t, flood, blocked, "", nil, path, body)
}

// floodEvents writes event to w as fast as it is read, until a write
// waits a second.
func floodEvents(w http.ResponseWriter, event string) {
	rc := http.NewResponseController(w)
	ev := []byte(event + "\n\n")
	for {
		_ = rc.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := w.Write(ev); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// slowReaderAtShutdown runs the gateway (with routes added to its config)
// over upstream, lets before make its requests, then sends path's body
// from a client that reads the status line and nothing more, waits for
// blocked (nil: the answer is too large to fit the connection's buffers,
// so the gateway's writes block as soon as the status line is read) and
// stops the gateway. The request is then logged, recorded and stored as
// ended by the shutdown, partial; the requests of before are logged and
// recorded without error.
func slowReaderAtShutdown(t *testing.T, upstream http.Handler, blocked <-chan struct{}, routes string, before func(t *testing.T, base string), path, body string) {
	up := httptest.NewServer(upstream)
	defer up.Close()
	gwCfg := strings.Replace(baseConfig, "  listen: 127.0.0.1:0\n", "  listen: 127.0.0.1:0\n  shutdown_timeout: 100ms\n", 1)
	gwCfg = strings.Replace(gwCfg, "base_url: {{SIM}}/v1", "base_url: "+up.URL+"/v1", 1)
	gwCfg = strings.Replace(gwCfg, "routes:\n", `  - {name: painter, provider: sim-openai, model: sim-image, capabilities: {chat: false, images: true}}
  - {name: voice, provider: sim-openai, model: sim-voice, capabilities: {chat: false, speech: true}}
routes:
`+routes, 1)
	s := startStack(t, fastSim(), gwCfg)
	dir := filepath.Dir(s.cfg)
	if before != nil {
		before(t, s.base)
	}

	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	method := "POST"
	if body == "" {
		method = "GET"
	}
	if _, err := fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", method, path, len(body), body); err != nil {
		t.Fatal(err)
	}
	// The client reads the status line, then nothing more.
	if status, err := bufio.NewReaderSize(conn, 16).ReadString('\n'); err != nil || !strings.HasPrefix(status, "HTTP/1.1 200") {
		t.Fatalf("status line: got %q, %v; want 200", status, err)
	}
	if blocked != nil {
		select {
		case <-blocked:
		case <-time.After(30 * time.Second):
			t.Fatal("the gateway's writes to the client never blocked")
		}
	}
	s.stop()

	var cut, others []string
	for line := range strings.Lines(s.logs.String()) {
		switch {
		case !strings.Contains(line, `"msg":"request"`):
		case strings.Contains(line, `"error":"shutdown"`) && strings.Contains(line, `"partial":true`):
			cut = append(cut, line)
		default:
			others = append(others, line)
		}
	}
	if len(cut) != 1 {
		t.Errorf("request log lines with error shutdown, partial: got %q, want one (others: %q)", cut, others)
	}
	for _, line := range others {
		if !strings.Contains(line, `"error":""`) {
			t.Errorf("request log line before the cut one: got %q, want no error", line)
		}
	}
	if !strings.Contains(s.logs.String(), `"msg":"shutdown deadline passed; closing remaining connections"`) {
		t.Errorf("the stream's connection was not closed by the shutdown (the test did not block its writes):\n%s", s.logs.String())
	}

	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "switchyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var recs []store.UsageRecord
	if err := st.ExportUsage(context.Background(), time.Time{}, time.Time{}, "", func(r store.UsageRecord) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var shut int
	for _, r := range recs {
		switch {
		case r.ErrorCode == "shutdown" && r.Partial:
			shut++
		case r.ErrorCode != "":
			t.Errorf("usage record %+v: want no error, or shutdown and partial", r)
		}
	}
	if shut != 1 || len(recs) != len(others)+1 {
		t.Errorf("usage records in the store: got %+v, want one with error shutdown, partial, and one for each of the %d other requests", recs, len(others))
	}
	if fi, err := os.Stat(filepath.Join(dir, "usage.spool")); err == nil && fi.Size() > 0 {
		t.Errorf("usage spool has %d bytes at exit with the store up, want none", fi.Size())
	}
}

// TestShutdownCutsSlowReaderObjectStream: a background response's event
// stream (GET /v1/responses/{id}?stream=true), relayed by the object
// path's own loop, is recorded as ended by the shutdown when its slow
// client is cut, as a request's stream is.
func TestShutdownCutsSlowReaderObjectStream(t *testing.T) {
	blocked := make(chan struct{})
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"resp_bg1","object":"response","created_at":1,"status":"queued","background":true,"model":"sim-small","output":[],"usage":null}`)
			return
		}
		if r.URL.Path != "/v1/responses/resp_bg1" || r.URL.Query().Get("stream") != "true" {
			http.Error(w, `{"error":{"message":"unexpected `+r.Method+" "+r.URL.String()+`"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		floodEvents(w, "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,\"delta\":\""+strings.Repeat("x", 32<<10)+"\"}")
		close(blocked)
		<-r.Context().Done()
	})
	create := func(t *testing.T, base string) {
		resp, err := http.Post(base+"/v1/responses", "application/json", strings.NewReader(`{"model":"small","background":true,"input":"hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"resp_bg1"`) {
			t.Fatalf("creating the background response: %d %s", resp.StatusCode, b)
		}
	}
	slowReaderAtShutdown(t, upstream, blocked, "", create, "/v1/responses/resp_bg1?stream=true", "")
}

// TestShutdownCutsSlowReaderCascadeReplay: a cascade's answer replayed
// to a streaming client (the gateway writes it as a stream itself) is
// recorded as ended by the shutdown when its slow client is cut.
func TestShutdownCutsSlowReaderCascadeReplay(t *testing.T) {
	// An answer far larger than the connection's buffers: the replay's
	// writes block once the client has read the status line.
	answer := strings.Repeat("word ", 3<<20)
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c1","object":"chat.completion","created":1,"model":"sim-small","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":9,"total_tokens":12}}`, answer)
	})
	routes := "  - {name: careful, policy: cascade, targets: [small, medium], checks: [{min_length: 1}]}\n"
	slowReaderAtShutdown(t, upstream, nil, routes, nil, "/v1/chat/completions",
		`{"model":"careful","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
}
