package batch

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/gateway"
)

// TestUncleanPathsAreNotRedirected: a path under the batch endpoints that
// ServeMux would clean (//, /./, /../) gets the API's JSON 404, as the
// gateway's other paths do, not ServeMux's 307 to the cleaned path (which
// a client following redirects answers by sending its POST again, to
// /v1/chat/completions say). The handler is put together as the app does:
// Owns picks the batch mux, anything else goes to the gateway.
func TestUncleanPathsAreNotRedirected(t *testing.T) {
	f := newRunFixture(t, 1, 0)
	q := NewEmbedded(4, nil)
	defer q.Close()
	mux := http.NewServeMux()
	NewAPI(APIOptions{Store: f.st, Auth: tenantT{}, Queue: q, Now: f.clock.Now}).Register(mux)
	gw := gateway.New(gateway.Options{}).Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Owns(r.URL.Path) {
			mux.ServeHTTP(w, r)
			return
		}
		gw.ServeHTTP(w, r)
	}))
	defer srv.Close()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct {
		method, path string
	}{
		{"POST", "/v1/batches/../chat/completions"},
		{"GET", "/v1/files/../../etc/passwd"},
		{"GET", "/v1/files//file-in"},
		{"GET", "/v1/messages/batches/./x"},
		{"POST", "/batches/./"},
	} {
		req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = tt.path // as sent, not cleaned by the client
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var e struct {
			Error struct{ Message string }
		}
		if res.StatusCode != http.StatusNotFound || json.Unmarshal(b, &e) != nil || e.Error.Message == "" {
			t.Errorf("%s %s: got %d %s (Location %q), want the API's JSON 404", tt.method, tt.path, res.StatusCode, b, res.Header.Get("Location"))
		}
	}
}

// inputServer serves the batch endpoints with a short read timeout and a
// 1 MiB file limit, as the gateway's server would.
func inputServer(t *testing.T, readTimeout time.Duration) string {
	t.Helper()
	f := newRunFixture(t, 1, 0)
	q := NewEmbedded(4, nil)
	t.Cleanup(func() { q.Close() })
	mux := http.NewServeMux()
	NewAPI(APIOptions{Store: f.st, Auth: tenantT{}, Queue: q, Now: f.clock.Now, MaxFileBytes: 1 << 20}).Register(mux)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ReadTimeout = readTimeout
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// exchange sends head (a request's header block) and body on a new
// connection and returns what the server answered until it closed the
// connection or sent a whole response.
func exchange(t *testing.T, addr, head, body string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Only keeps a broken server from hanging the test.
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, head+body); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

// TestStalledUploadIsTimedOut: a client that stops sending its body
// halfway is cut off by the read timeout with the documented 408 in the
// endpoint's error format, not a 400 whose message is net/http's read
// error (naming the server's and the client's socket addresses).
func TestStalledUploadIsTimedOut(t *testing.T) {
	addr := inputServer(t, 200*time.Millisecond)
	const boundary = "XyZ"
	for _, tt := range []struct {
		path, ctype, partial string
		anthropic            bool
	}{
		{"/v1/files", "multipart/form-data; boundary=" + boundary,
			"--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jsonl\"\r\n\r\n{\"custom_id\":", false},
		{"/v1/batches", "application/json", `{"input_file_id":"file-in","endpoint":`, false},
		{"/v1/messages/batches", "application/json", `{"requests":[{"custom_id":"a",`, true},
	} {
		t.Run(tt.path, func(t *testing.T) {
			head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", tt.path, tt.ctype, len(tt.partial)+100)
			res, body := exchange(t, addr, head, tt.partial)
			if res.StatusCode != http.StatusRequestTimeout {
				t.Errorf("status: got %d %s, want 408", res.StatusCode, body)
			}
			if strings.Contains(body, "127.0.0.1") || strings.Contains(body, "i/o timeout") {
				t.Errorf("body: got %s, want no socket error", body)
			}
			var e struct {
				Type  string
				Error struct{ Type, Code, Message string }
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body: got %s, want a JSON error", body)
			}
			if tt.anthropic && (e.Type != "error" || e.Error.Type != "timeout_error") || !tt.anthropic && e.Error.Code != "request_timeout" {
				t.Errorf("body: got %s, want a request_timeout error in the endpoint's format", body)
			}
		})
	}
}

// TestUploadOverLimitRefusedUpFront: an upload whose declared length is
// over batch.max_file_bytes gets its 413 before its body is read: without
// a 100 Continue to a client that waits for one.
func TestUploadOverLimitRefusedUpFront(t *testing.T) {
	addr := inputServer(t, 10*time.Second)
	for _, tt := range []struct{ path, ctype, code string }{
		{"/v1/files", "multipart/form-data; boundary=XyZ", "file_too_large"},
		{"/v1/batches", "application/json", "request_too_large"},
		{"/v1/messages/batches", "application/json", ""},
	} {
		head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", tt.path, tt.ctype, 100<<20)
		res, body := exchange(t, addr, head, "")
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, tt.code) {
			t.Errorf("%s: got %d %s, want a 413 %s at once", tt.path, res.StatusCode, body, tt.code)
		}
	}
}
