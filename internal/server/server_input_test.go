package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/logtest"
	"github.com/switchyard-gw/switchyard/internal/server"
)

// TestHalfClosedClientGetsNoImplicit200: a client that sends its request
// and half-closes its side (shutdown(SHUT_WR), as nc -N does) is gone as
// far as net/http can tell; the handler, finding nobody listening,
// accounts for the request and writes nothing. The connection is then
// ended with no response at all, not completed as an implicit "200 OK"
// with an empty body, and nothing is logged. A handler that answers the
// cancelled request anyway is sent its answer.
func TestHalfClosedClientGetsNoImplicit200(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer bool // the handler writes a 400 after the client left
		want   string
	}{
		{"silent", false, ""},
		{"answered", true, "HTTP/1.1 400 Bad Request"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logtest.Buffer{}
			accounted := make(chan struct{})
			r := start(t, server.Options{
				Logger: slog.New(slog.NewJSONHandler(logs, nil)),
				API: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					defer close(accounted) // as the gateway's usage record
					io.Copy(io.Discard, req.Body)
					<-req.Context().Done()
					if tt.answer {
						http.Error(w, "gone", http.StatusBadRequest)
					}
				}),
			})
			conn, err := net.Dial("tcp", strings.TrimPrefix(r.base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
			conn.(*net.TCPConn).CloseWrite()
			got, _ := io.ReadAll(conn)
			select {
			case <-accounted:
			default:
				t.Error("the connection ended before the handler returned")
			}
			if first, _, _ := strings.Cut(string(got), "\r\n"); first != tt.want {
				t.Errorf("response: got %q, want %q", got, tt.want)
			}
			if strings.Contains(logs.String(), "panic") {
				t.Errorf("log: got %s, want no panic logged", logs.String())
			}
		})
	}
}

// TestSilentHandlerStillGets200: a handler that writes nothing to a
// client that is still there gets net/http's implicit 200, as before.
func TestSilentHandlerStillGets200(t *testing.T) {
	r := start(t, server.Options{API: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})})
	resp, body := r.get(t, "/v1/anything")
	if resp.StatusCode != http.StatusOK || body != "" {
		t.Errorf("got %d %q, want an empty 200", resp.StatusCode, body)
	}
}

// TestContentEncodingRefused: a body in a content coding (which nothing
// decodes) is refused with a 415 naming the coding, in the API's error
// format, before the API sees it; identity, or no body, is served.
func TestContentEncodingRefused(t *testing.T) {
	var served atomic.Int32
	r := start(t, server.Options{API: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		served.Add(1)
		io.Copy(io.Discard, req.Body)
	})})
	for _, tt := range []struct {
		name, method, path, encoding string
		header                       []string
		want                         int
		anthropic                    bool // the refusal is in Anthropic's format
	}{
		{"gzip", "POST", "/v1/chat/completions", "gzip", nil, 415, false},
		{"deflate", "POST", "/v1/embeddings", "deflate", nil, 415, false},
		{"br to Messages", "POST", "/v1/messages", "br", nil, 415, true},
		{"Anthropic client", "POST", "/v1/models", "zstd", []string{"anthropic-version", "2023-06-01"}, 415, true},
		{"identity then gzip", "POST", "/v1/chat/completions", "identity, gzip", nil, 415, false},
		{"identity", "POST", "/v1/chat/completions", "identity", nil, 200, false},
		{"no body", "GET", "/v1/models", "gzip", nil, 200, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			served.Store(0)
			var body io.Reader
			if tt.method == "POST" {
				body = strings.NewReader(`{"model":"m"}`)
			}
			req, err := http.NewRequest(tt.method, r.base+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Content-Encoding", tt.encoding)
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			resp, err := r.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, b, tt.want)
			}
			if tt.want == 200 {
				if n := served.Load(); n != 1 {
					t.Errorf("the API served it %d times, want once", n)
				}
				return
			}
			if served.Load() != 0 {
				t.Errorf("the API served a refused request")
			}
			var e struct {
				Type  string
				Error struct{ Type, Code, Message string }
			}
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("body %s: %v", b, err)
			}
			coding := tt.encoding[strings.LastIndex(tt.encoding, " ")+1:]
			if !strings.Contains(e.Error.Message, `"`+coding+`"`) {
				t.Errorf("message %q: want it to name %q", e.Error.Message, coding)
			}
			if anthropic := e.Type == "error"; anthropic != tt.anthropic {
				t.Errorf("body %s: Anthropic's format %v, want %v", b, anthropic, tt.anthropic)
			}
			if !tt.anthropic && e.Error.Code != "unsupported_content_encoding" {
				t.Errorf("code: got %q, want unsupported_content_encoding", e.Error.Code)
			}
			if got := resp.Header.Get("Accept-Encoding"); got != "identity" {
				t.Errorf("Accept-Encoding: got %q, want identity", got)
			}
		})
	}
}
