package server_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
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
