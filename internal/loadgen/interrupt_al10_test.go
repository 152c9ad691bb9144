package loadgen

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Requests in flight when the run is interrupted (Ctrl-C cancels the run's
// context) are cut off, not timeouts: none reached Timeout, and the server
// did not fail them.
func TestInterruptCutsOffRequestsInFlight(t *testing.T) {
	for _, stream := range []bool{false, true} {
		arrived := make(chan struct{}, 8)
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			if stream {
				w.Header().Set("Content-Type", "text/event-stream")
				w.Write([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"))
				w.(http.Flusher).Flush()
			}
			arrived <- struct{}{}
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for range 3 {
				<-arrived
			}
			cancel() // the operator's Ctrl-C, with all three in flight
		}()
		res, err := Run(ctx, Options{URL: srv.URL, Requests: 3, Connections: 3, Stream: stream, Timeout: time.Minute})
		close(release)
		srv.Close()
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if !res.Interrupted || res.CutOff != 3 || res.Errors != 0 || res.ErrorKinds[KindTimeout] != 0 || res.Sent != 3 {
			t.Errorf("stream=%v: got interrupted=%v cut_off=%d errors=%d kinds=%v sent=%d, want interrupted, 3 cut off, no errors",
				stream, res.Interrupted, res.CutOff, res.Errors, res.ErrorKinds, res.Sent)
		}
		var b bytes.Buffer
		Format(&b, "http://x/v1/chat/completions", res)
		if !strings.Contains(b.String(), "interrupted") || !strings.Contains(b.String(), "3 requests in flight were cut off") {
			t.Errorf("report does not say the run was interrupted:\n%s", b.String())
		}
	}
}

// A request's own Timeout is still a timeout.
func TestRequestTimeoutIsATimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server notices the client going away
		<-r.Context().Done()
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Options{URL: srv.URL, Requests: 1, Connections: 1, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Interrupted || res.CutOff != 0 || res.ErrorKinds[KindTimeout] != 1 {
		t.Errorf("got interrupted=%v cut_off=%d kinds=%v, want one timeout", res.Interrupted, res.CutOff, res.ErrorKinds)
	}
}
