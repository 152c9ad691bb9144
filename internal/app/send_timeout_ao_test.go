package app

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSendTimeoutEndsStalledStream: a streaming client that reads the
// status line and then nothing, without hanging up, has its request ended
// by server.send_timeout and recorded as the client's leaving, partial;
// the upstream call is released (the upstream sees its request end).
// Before, it ran until the client hung up (audit AO, AO3).
func TestSendTimeoutEndsStalledStream(t *testing.T) {
	released := make(chan struct{})
	event := `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"flood","choices":[{"index":0,"delta":{"content":"` + strings.Repeat("x", 32<<10) + `"}}]}`
	flood := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		go func() {
			<-r.Context().Done()
			close(released)
		}()
		rc := http.NewResponseController(w)
		for r.Context().Err() == nil {
			if _, err := fmt.Fprint(w, event+"\n\n"); err != nil {
				return
			}
			_ = rc.Flush()
		}
	}))
	defer flood.Close()
	gwCfg := strings.Replace(baseConfig, "  listen: 127.0.0.1:0\n", "  listen: 127.0.0.1:0\n  send_timeout: 1s\n", 1)
	gwCfg = strings.Replace(gwCfg, "base_url: {{SIM}}/v1", "base_url: "+flood.URL+"/v1", 1)
	s := startStack(t, fastSim(), gwCfg)

	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	body := `{"model":"small","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	if status, err := bufio.NewReaderSize(conn, 16).ReadString('\n'); err != nil || !strings.HasPrefix(status, "HTTP/1.1 200") {
		t.Fatalf("status line: got %q, %v; want 200", status, err)
	}
	select {
	case <-released:
	case <-time.After(30 * time.Second):
		t.Fatal("the stalled client's upstream call was never released")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var line string
		for l := range strings.Lines(s.logs.String()) {
			if strings.Contains(l, `"msg":"request"`) {
				line = l
			}
		}
		if line != "" {
			if !strings.Contains(line, `"error":"client_cancelled"`) || !strings.Contains(line, `"partial":true`) {
				t.Errorf("request log line: got %s, want error client_cancelled, partial", line)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no request log line:\n%s", s.logs.String())
		}
		time.Sleep(10 * time.Millisecond) // polling the log with a deadline
	}
	if !strings.Contains(s.logs.String(), `"msg":"client stopped reading; ending its response"`) {
		t.Errorf("no send_timeout log line:\n%s", s.logs.String())
	}
}
