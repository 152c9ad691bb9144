package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

// TestBodyReadFailures: a body the client stalls on is a 408
// request_timeout once the listener's read timeout passes, one declared
// longer than the limit a 413 before any of it is sent, and one that
// cannot be read a 400; each in the admin API's error shape, none
// repeating the read error (which names the connection's addresses).
func TestBodyReadFailures(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateKey(ctx, store.Key{ID: "k1", TenantID: "t1", Name: "k", Hash: auth.Hash("sk-k1"), Role: store.RoleUser, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(New(Options{Store: st, AdminKey: adminKey}))
	srv.Config.ReadTimeout = time.Second
	srv.Start()
	defer srv.Close()
	head := func(method, path, framing string) string {
		return method + " " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + adminKey + "\r\nContent-Type: application/json\r\n" + framing
	}
	for _, tc := range []struct {
		name, head, body string
		status           int
		code             string
	}{
		{"stalled create", head("POST", "/admin/tenants", "Content-Length: 40"), `{"id":`, 408, "request_timeout"},
		{"stalled patch", head("PATCH", "/admin/tenants/t1", "Content-Length: 40"), `{"name":`, 408, "request_timeout"},
		{"declared too long", head("POST", "/admin/keys", "Content-Length: 2000000"), "", 413, "request_too_large"},
		{"declared too long, patch", head("PATCH", "/admin/keys/k1", "Content-Length: 2000000"), "", 413, "request_too_large"},
		{"bad chunk", head("POST", "/admin/tenants", "Transfer-Encoding: chunked"), "zz\r\n{}\r\n", 400, "invalid_request"},
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
			if strings.Contains(body, "127.0.0.1") || strings.Contains(body, "chunk") || strings.Contains(body, "i/o") {
				t.Errorf("got %s, want no read error in the answer", body)
			}
			if tc.status == 413 && time.Since(start) >= srv.Config.ReadTimeout {
				t.Errorf("413 after %v, want it before the read timeout: the declared length decides", time.Since(start))
			}
		})
	}
}

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
