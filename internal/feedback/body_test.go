package feedback

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// rawRequest sends head (a request line and headers, without the blank
// line) and then body over a new connection to srv, and returns the
// answer, read within a deadline.
func rawRequest(t *testing.T, srv *httptest.Server, head, body string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, head+"\r\n\r\n"+body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestBodyReadFailures: a body the client stalls on is a 408
// request_timeout once the server's read timeout passes, one declared
// longer than the limit a 413 before any of it is sent, and one that
// cannot be read a 400; each in OpenAI's error shape, none repeating the
// read error (which names the connection's addresses).
func TestBodyReadFailures(t *testing.T) {
	srv := httptest.NewUnstartedServer(New(Options{Store: failingStore{}, Auth: fakeAuth{}}))
	srv.Config.ReadTimeout = time.Second
	srv.Start()
	defer srv.Close()
	for _, tc := range []struct {
		name, head, body string
		status           int
		code             string
	}{
		{"stalled", "POST " + Path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40", `{"request_id":`, 408, "request_timeout"},
		{"declared too long", "POST " + Path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000", "", 413, "request_too_large"},
		{"bad chunk", "POST " + Path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked", "zz\r\n{}\r\n", 400, "invalid_body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			resp, body := rawRequest(t, srv, tc.head, tc.body)
			var e struct {
				Error struct{ Code, Message string }
			}
			if resp.StatusCode != tc.status || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != tc.code {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
			if strings.Contains(body, "127.0.0.1") || strings.Contains(body, "chunk") {
				t.Errorf("got %s, want no read error in the answer", body)
			}
			if tc.status == 413 && time.Since(start) >= srv.Config.ReadTimeout {
				t.Errorf("413 after %v, want it before the read timeout: the declared length decides", time.Since(start))
			}
		})
	}
}
