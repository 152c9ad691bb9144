package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/switchyard-gw/switchyard/internal/logtest"
	"github.com/switchyard-gw/switchyard/internal/reqid"
	"github.com/switchyard-gw/switchyard/internal/server"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// running is a Server serving on a loopback port.
type running struct {
	base string
	hc   *http.Client
	stop func() error // cancels Serve and returns its result
	done chan error
	ln   net.Listener
}

func start(t *testing.T, opts server.Options) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := server.New(opts)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	tr := &http.Transport{}
	r := &running{base: "http://" + ln.Addr().String(), hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}, done: done, ln: ln}
	var once sync.Once
	var serr error
	r.stop = func() error {
		once.Do(func() {
			tr.CloseIdleConnections()
			cancel()
			select {
			case serr = <-done:
			case <-time.After(10 * time.Second):
				serr = errors.New("Serve did not return")
			}
		})
		return serr
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("Serve: got %v, want nil", err)
		}
	})
	return r
}

func (r *running) get(t *testing.T, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", r.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", path, err)
	}
	return resp, string(b)
}

func TestProbesAndMetrics(t *testing.T) {
	var ready bool
	var mu sync.Mutex
	reg := prometheus.NewRegistry()
	inflight := prometheus.NewGauge(prometheus.GaugeOpts{Name: "test_in_flight"})
	reg.MustRegister(inflight)
	seen := make(chan float64, 1)
	r := start(t, server.Options{
		Ready: func() bool { mu.Lock(); defer mu.Unlock(); return ready },
		API: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			select {
			case seen <- testutil.ToFloat64(inflight):
			default: // only the first API request is looked at
			}
			io.WriteString(w, "api")
		}),
		Gatherer: reg,
		InFlight: inflight,
	})
	if resp, body := r.get(t, "/healthz"); resp.StatusCode != 200 || body != "ok\n" {
		t.Errorf("healthz: got %d %q, want 200 ok", resp.StatusCode, body)
	}
	if resp, _ := r.get(t, "/readyz"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz before ready: got %d, want 503", resp.StatusCode)
	}
	mu.Lock()
	ready = true
	mu.Unlock()
	if resp, _ := r.get(t, "/readyz"); resp.StatusCode != 200 {
		t.Errorf("readyz when ready: got %d, want 200", resp.StatusCode)
	}
	if resp, body := r.get(t, "/anything"); resp.StatusCode != 200 || body != "api" {
		t.Errorf("API: got %d %q, want 200 api", resp.StatusCode, body)
	}
	if got := <-seen; got != 1 {
		t.Errorf("in-flight gauge while serving: got %v, want 1", got)
	}
	if got := testutil.ToFloat64(inflight); got != 0 {
		t.Errorf("in-flight gauge after: got %v, want 0", got)
	}
	if resp, body := r.get(t, "/metrics"); resp.StatusCode != 200 || !strings.Contains(body, "test_in_flight 0") {
		t.Errorf("metrics: got %d %q, want 200 with test_in_flight 0 (a scrape is not a client request)", resp.StatusCode, body)
	}
	if resp, _ := r.get(t, "/healthz", "X-Request-Id", "probe-1"); resp.Header.Get(reqid.ClientHeader) != "probe-1" || !strings.HasPrefix(resp.Header.Get(reqid.Header), "req_") {
		t.Errorf("probe request ids: got %q and client %q, want a req_ id and client probe-1", resp.Header.Get(reqid.Header), resp.Header.Get(reqid.ClientHeader))
	}
	// A probe path with another method is a 405 with Allow, not the API's.
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Post(r.base+p, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s: got %d Allow %q, want 405 Allow GET, HEAD", p, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}

func TestNoGathererNoMetrics(t *testing.T) {
	r := start(t, server.Options{})
	if resp, _ := r.get(t, "/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("metrics without a gatherer: got %d, want 404", resp.StatusCode)
	}
}

func TestRecoverPanic(t *testing.T) {
	logs := &logtest.Buffer{}
	r := start(t, server.Options{
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		API: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			panic("boom-canary")
		}),
	})
	resp, body := r.get(t, "/v1/chat/completions", "X-Request-Id", "panic-req-1")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status: got %d, want 500", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type: got %q, want application/json", ct)
	}
	var e struct {
		Error struct{ Message, Type, Code string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != "internal_error" || e.Error.Type != "api_error" {
		t.Errorf("body: got %s (%v), want an internal_error JSON error", body, err)
	}
	if strings.Contains(body, "boom-canary") {
		t.Errorf("body leaks the panic value: %s", body)
	}
	// The log line is written before the response, so it is there now.
	var line map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "panic serving request" {
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no panic log line in %s", logs.String())
	}
	if line["panic"] != "boom-canary" || line["path"] != "/v1/chat/completions" {
		t.Errorf("panic log: got %v, want panic and path", line)
	}
	if got := resp.Header.Get(reqid.Header); got != line["request_id"] || line["client_request_id"] != "panic-req-1" {
		t.Errorf("response request id %q, logged %v with client id %v: want the same id, client panic-req-1", got, line["request_id"], line["client_request_id"])
	}
	// The server still serves after a panic.
	if resp, _ := r.get(t, "/healthz"); resp.StatusCode != 200 {
		t.Errorf("healthz after panic: got %d, want 200", resp.StatusCode)
	}
}

// TestRecoverPanicLogsRequestID checks that the panic log line can be
// matched to the response the client got.
func TestRecoverPanicLogsRequestID(t *testing.T) {
	logs := &logtest.Buffer{}
	r := start(t, server.Options{
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		API:    http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { panic("boom") }),
	})
	resp, _ := r.get(t, "/x", "X-Request-Id", "panic-req-2")
	want := `"request_id":"` + resp.Header.Get(reqid.Header) + `","client_request_id":"panic-req-2"`
	if !strings.Contains(logs.String(), want) {
		t.Errorf("panic log: got %s, want %s", logs.String(), want)
	}
}

func TestRecoverLetsAbortHandlerThrough(t *testing.T) {
	logs := &logtest.Buffer{}
	r := start(t, server.Options{
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		API: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(200)
			io.WriteString(w, "data: partial\n\n")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}),
	})
	resp, err := r.hc.Get(r.base + "/v1/chat/completions")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("read: got a complete body %q, want the connection aborted", b)
	}
	if resp.StatusCode != 200 {
		t.Errorf("status: got %d, want 200 (headers were already sent)", resp.StatusCode)
	}
	if strings.Contains(logs.String(), "panic serving request") {
		t.Errorf("ErrAbortHandler was logged as a panic: %s", logs.String())
	}
}

// TestRequestID: every request gets the gateway's own id, whatever the
// client sent (the usage ledger is keyed on it, so a client's repeated id
// must not collide); a plain client id is echoed in X-Client-Request-Id.
func TestRequestID(t *testing.T) {
	srv := server.New(server.Options{API: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, reqid.From(r.Context()))
	})})
	h := srv.Handler()
	tests := []struct {
		name     string
		id       string
		wantEcho bool
	}{
		{name: "plain id is echoed", id: "client-id_1.2", wantEcho: true},
		{name: "64 characters is echoed", id: strings.Repeat("a", 64), wantEcho: true},
		{name: "65 characters is dropped", id: strings.Repeat("a", 65)},
		{name: "newline is dropped", id: "bad id\n"},
		{name: "space is dropped", id: "bad id"},
		{name: "quote is dropped", id: `a"b`},
		{name: "missing", id: ""},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/x", nil)
			if tt.id != "" {
				req.Header[reqid.Header] = []string{tt.id}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get(reqid.Header)
			if got != rec.Body.String() {
				t.Errorf("handler saw %q, header says %q; want the same id", rec.Body.String(), got)
			}
			if !strings.HasPrefix(got, "req_") || seen[got] {
				t.Errorf("id: got %q, want a fresh req_ id", got)
			}
			seen[got] = true
			echo := rec.Header().Get(reqid.ClientHeader)
			want := ""
			if tt.wantEcho {
				want = tt.id
			}
			if echo != want {
				t.Errorf("client id echoed as %q for %q, want %q", echo, tt.id, want)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		name string
		addr string
		want bool
	}{
		{name: "ipv4 loopback", addr: "127.0.0.1:8080", want: true},
		{name: "other 127/8 address", addr: "127.0.0.2:8080", want: true},
		{name: "ipv6 loopback", addr: "[::1]:8080", want: true},
		{name: "localhost", addr: "localhost:8080", want: true},
		{name: "all interfaces v4", addr: "0.0.0.0:8080"},
		{name: "all interfaces v6", addr: "[::]:8080"},
		{name: "empty host", addr: ":8080"},
		{name: "empty", addr: ""},
		{name: "private address", addr: "10.0.0.1:8080"},
		{name: "no port", addr: "127.0.0.1"},
		{name: "hostname", addr: "example.com:80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := server.IsLoopback(tt.addr); got != tt.want {
				t.Errorf("IsLoopback(%q): got %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
}

// TestServeDrains cancels Serve while a request is in flight: the request
// completes, new connections are refused and Serve returns nil.
func TestServeDrains(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	r := start(t, server.Options{API: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	})})
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := r.hc.Get(r.base + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{body: string(b), err: err}
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- r.stop() }()
	// Poll until the listener is closed: new connections are refused.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", r.ln.Addr().String(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepts connections after shutdown began")
		}
		time.Sleep(2 * time.Millisecond)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned %v while a request was in flight", err)
	default:
	}
	close(release)
	res := <-got
	if res.err != nil || res.body != "finished" {
		t.Errorf("in-flight request: got %q, %v; want finished", res.body, res.err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve: got %v, want nil", err)
	}
}

// TestServeShutdownTimeout closes connections still open when the shutdown
// timeout passes.
func TestServeShutdownTimeout(t *testing.T) {
	logs := &logtest.Buffer{}
	entered := make(chan struct{})
	r := start(t, server.Options{
		ShutdownTimeout: 50 * time.Millisecond,
		Logger:          slog.New(slog.NewJSONHandler(logs, nil)),
		API: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			close(entered)
			<-req.Context().Done() // a stream that never ends by itself
		}),
	})
	resp, err := r.hc.Get(r.base + "/stuck")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-entered
	if err := r.stop(); err != nil {
		t.Errorf("Serve: got %v, want nil", err)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("stuck stream: got a clean end, want the connection closed")
	}
	if !strings.Contains(logs.String(), "shutdown deadline passed") {
		t.Errorf("log: got %s, want the shutdown deadline warning", logs.String())
	}
}

// TestTrickledBodyIsCutOff: a client that sends its headers and then
// trickles (here: stops sending) its body cannot hold a connection and a
// handler past ReadTimeout; the handler's read fails and the connection
// ends. A stream whose body was read in time outlives the timeout.
func TestTrickledBodyIsCutOff(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	readErr := make(chan error, 1)
	r := start(t, server.Options{
		ReadTimeout: readTimeout,
		API: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			_, err := io.ReadAll(req.Body)
			if req.URL.Path != "/slow-stream" {
				readErr <- err
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			// A slow producer, as a slow model is: six frames over
			// four read timeouts.
			rc := http.NewResponseController(w)
			tick := time.NewTicker(readTimeout * 2 / 3)
			defer tick.Stop()
			for i := range 6 {
				fmt.Fprintf(w, "frame %d\n", i)
				rc.Flush()
				<-tick.C
			}
		}),
	})
	conn, err := net.Dial("tcp", strings.TrimPrefix(r.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"model\":")
	// The client's own deadline only keeps a broken server from hanging
	// the test; the server must end the exchange well before it.
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	select {
	case err := <-readErr:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("handler's body read: got %v, want a timeout", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the handler is still reading the trickled body")
	}
	if _, err := io.ReadAll(conn); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("connection still open after the read timeout")
		}
	}

	resp, err := r.hc.Post(r.base+"/slow-stream", "application/json", strings.NewReader(`{"model":"m"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || strings.Count(string(b), "frame") != 6 {
		t.Errorf("slow stream: got %q (%v), want all six frames past the read timeout", b, err)
	}
}
