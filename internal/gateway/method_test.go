package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
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

// TestWrongMethodFollowsTheClientsDialect: as a 404 does (README), a 405
// is in Anthropic's format for a request carrying anthropic-version or
// x-api-key, whatever the path, and in OpenAI's otherwise; so is the 405
// of a GET /v1/responses that is no WebSocket handshake (it allows POST).
func TestWrongMethodFollowsTheClientsDialect(t *testing.T) {
	f := newFixture(t)
	if err := f.gw.Apply(f.conf(gwConfig)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		method, path, header string
		anthropic            bool
	}{
		{"PUT", oaPath, "", false},
		{"PUT", oaPath, "anthropic-version", true},
		{"DELETE", "/v1/embeddings", "x-api-key", true},
		{"PUT", anPath, "", true},
		{"GET", "/v1/nowhere", "anthropic-version", true},
		{"GET", "/v1/responses", "", false},
		{"GET", "/v1/responses", "anthropic-version", true},
		{"GET", "/responses", "x-api-key", true},
	} {
		req, err := http.NewRequest(tt.method, f.url+tt.path, strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		if tt.header != "" {
			req.Header.Set(tt.header, "2023-06-01")
		}
		resp, err := f.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Type  string `json:"type"`
			Error struct {
				Type string `json:"type"`
				Code string `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s %s: %v: %s", tt.method, tt.path, err, b)
		}
		if got := e.Type == "error"; got != tt.anthropic {
			t.Errorf("%s %s with %q: got %d %s, want Anthropic's format %v", tt.method, tt.path, tt.header, resp.StatusCode, b, tt.anthropic)
		}
		if !tt.anthropic && e.Error.Code != "method_not_allowed" {
			t.Errorf("%s %s: got %s, want OpenAI's method_not_allowed", tt.method, tt.path, b)
		}
		if strings.HasSuffix(tt.path, "/responses") && (resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST") {
			t.Errorf("GET %s: got %d Allow %q, want a 405 allowing POST", tt.path, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}
