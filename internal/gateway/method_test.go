package gateway_test

import (
	"strings"
	"testing"
)

// TestExtensionMethodIs405: a method no ServeMux pattern names (WebDAV's
// PROPFIND, a made-up one) on a known path gets the 405 with Allow that
// every other wrong method gets, not a 404 saying the path is unknown.
func TestExtensionMethodIs405(t *testing.T) {
	f := newFixture(t)
	if err := f.gw.Apply(f.conf(gwConfig)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ method, path string }{
		{"PROPFIND", oaPath},
		{"FROB", anPath},
		{"PROPFIND", "/v1/embeddings"},
	} {
		resp, b := f.do(tt.method, tt.path, strings.NewReader(""))
		if resp.StatusCode != 405 || !strings.Contains(resp.Header.Get("Allow"), "POST") || !strings.Contains(string(b), `"error"`) {
			t.Errorf("%s %s: got %d Allow %q %s, want a 405 allowing POST in the API's error format", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Allow"), b)
		}
	}
	resp, _ := f.do("PROPFIND", "/v1/nowhere", strings.NewReader(""))
	if resp.StatusCode != 404 {
		t.Errorf("PROPFIND on an unknown path: got %d, want 404", resp.StatusCode)
	}
}
