package app

import (
	"bufio"
	"context"
	"fmt"
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
	flood := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		event := []byte(event + "\n\n")
		for {
			_ = rc.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := w.Write(event); err != nil {
				break
			}
			if rc.Flush() != nil {
				break
			}
		}
		close(blocked)
		<-r.Context().Done()
	}))
	defer flood.Close()
	gwCfg := strings.Replace(baseConfig, "  listen: 127.0.0.1:0\n", "  listen: 127.0.0.1:0\n  shutdown_timeout: 100ms\n", 1)
	gwCfg = strings.Replace(gwCfg, "base_url: {{SIM}}/v1", "base_url: "+flood.URL+"/v1", 1)
	gwCfg = strings.Replace(gwCfg, "routes:\n", `  - {name: painter, provider: sim-openai, model: sim-image, capabilities: {chat: false, images: true}}
  - {name: voice, provider: sim-openai, model: sim-voice, capabilities: {chat: false, speech: true}}
routes:
`, 1)
	s := startStack(t, fastSim(), gwCfg)
	dir := filepath.Dir(s.cfg)

	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body); err != nil {
		t.Fatal(err)
	}
	// The client reads the status line, then nothing more.
	if status, err := bufio.NewReaderSize(conn, 16).ReadString('\n'); err != nil || !strings.HasPrefix(status, "HTTP/1.1 200") {
		t.Fatalf("status line: got %q, %v; want 200", status, err)
	}
	select {
	case <-blocked:
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway's writes to the client never blocked")
	}
	s.stop()

	var lines []string
	for line := range strings.Lines(s.logs.String()) {
		if strings.Contains(line, `"msg":"request"`) {
			lines = append(lines, line)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], `"error":"shutdown"`) || !strings.Contains(lines[0], `"partial":true`) {
		t.Errorf("request log lines: got %q, want one with error shutdown, partial", lines)
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
	if len(recs) != 1 || recs[0].ErrorCode != "shutdown" || !recs[0].Partial {
		t.Errorf("usage records in the store: got %+v, want one with error shutdown, partial", recs)
	}
	if fi, err := os.Stat(filepath.Join(dir, "usage.spool")); err == nil && fi.Size() > 0 {
		t.Errorf("usage spool has %d bytes at exit with the store up, want none", fi.Size())
	}
}
