package admin

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestExtensionMethod: a method no pattern names (PROPFIND) on a known
// admin path gets the path's 405 with Allow, in the admin API's error
// shape, as a standard wrong method does; an unknown path stays a 404.
func TestExtensionMethod(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"PROPFIND", "/admin/tenants", 405, "GET, HEAD, POST"},
		{"FOO", "/admin/keys/k1/revoke", 405, "POST"},
		{"PUT", "/admin/tenants", 405, "GET, HEAD, POST"},
		{"PROPFIND", "/admin/nothing", 404, ""},
	} {
		req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Allow") != tc.allow || !strings.Contains(string(b), `"error":{"code":`) {
			t.Errorf("%s %s: got %d Allow %q %s, want %d Allow %q in the admin API's error shape", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), b, tc.status, tc.allow)
		}
	}
}
