package server_test

import (
	"context"
	"fmt"
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

// blockedWriter serves, through a Server with the options given, one
// request whose client never reads: its handler writes until a write
// fails (its connection closed by the shutdown), then calls after.
// Options.AbortCause is unset: the connection is closed at the shutdown
// deadline.
// It returns when Serve has returned.
func blockedWriter(t *testing.T, opts server.Options, closeWait time.Duration, after func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	writing := make(chan struct{})
	opts.API = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		chunk := []byte(strings.Repeat("x", 64<<10))
		// Writes until one fails, whatever the request's context says:
		// they block once the socket buffers are full.
		for i := 0; ; i++ {
			if i == 1 {
				close(writing)
			}
			if _, err := w.Write(chunk); err != nil {
				break
			}
			if rc.Flush() != nil {
				break
			}
		}
		after()
	})
	srv := server.New(opts)
	server.SetCloseWait(srv, closeWait)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case <-writing:
	case <-time.After(30 * time.Second):
		t.Fatal("the handler did not start writing")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: got %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// TestServeWaitsForClosedHandlers: a handler still writing to a client
// that does not read when the shutdown closes its connection has its
// request to account for once its write fails (the usage record the app
// stops its ledger for when Serve returns): Serve returns after it has
// (it returned at once, before the handler was done).
func TestServeWaitsForClosedHandlers(t *testing.T) {
	var finished atomic.Bool
	cut, release := make(chan struct{}), make(chan struct{})
	go func() {
		<-cut
		close(release) // the accounting can go on
	}()
	blockedWriter(t, server.Options{ShutdownTimeout: 50 * time.Millisecond}, 10*time.Second, func() {
		close(cut)
		<-release
		finished.Store(true)
	})
	if !finished.Load() {
		t.Error("Serve returned before the handler of the connection it closed had finished")
	}
}

// TestServeCloseWaitIsBounded: a handler that does not return once its
// connection is closed holds Serve CloseWait at most, and is logged.
func TestServeCloseWaitIsBounded(t *testing.T) {
	logs := &logtest.Buffer{}
	release := make(chan struct{})
	returned := make(chan struct{})
	blockedWriter(t, server.Options{ShutdownTimeout: 50 * time.Millisecond, Logger: slog.New(slog.NewJSONHandler(logs, nil))}, 100*time.Millisecond, func() {
		<-release
		close(returned)
	})
	close(release)
	<-returned
	if !strings.Contains(logs.String(), `"msg":"requests still running after their connections were closed; not waiting for them","requests":1`) {
		t.Errorf("log: got %s, want the warning for the handler still running", logs.String())
	}
}
