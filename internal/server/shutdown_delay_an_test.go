package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/server"
)

// TestShutdownDelayKeepsServingNotReady: with a shutdown delay, the end of
// Serve's context turns /readyz to 503 at once while requests and new
// connections are still served, and only after the delay does the server
// stop accepting (noted by audit AN: readiness never said 503 before the
// listener closed).
func TestShutdownDelayKeepsServingNotReady(t *testing.T) {
	const delay = 400 * time.Millisecond
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "served") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.New(server.Options{API: api, ShutdownDelay: delay, ShutdownTimeout: time.Second}).Serve(ctx, ln)
	}()
	// A client without keep-alive: every request needs a new connection.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	status := func(path string) int {
		resp, err := hc.Get(base + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("/readyz"); got != 200 {
		t.Fatalf("/readyz before the shutdown: got %d, want 200", got)
	}
	stopped := time.Now()
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for status("/readyz") != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("/readyz never answered 503 after the shutdown began")
		}
	}
	if time.Since(stopped) < delay {
		if got := status("/v1/anything"); got != 200 {
			t.Errorf("a request on a new connection during the delay: got %d, want 200", got)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if took := time.Since(stopped); took < delay {
		t.Errorf("Serve returned %v after its context ended, before the delay of %v", took, delay)
	}
	if got := status("/readyz"); got != 0 {
		t.Errorf("after Serve returned: got %d, want the connection refused", got)
	}
}
