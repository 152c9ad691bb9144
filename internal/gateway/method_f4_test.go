package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestResponsesGETFollowsTheClientsDialect: GET /v1/responses that is no
// WebSocket handshake is a 405 allowing POST, in Anthropic's format for a
// request carrying anthropic-version or x-api-key, in OpenAI's otherwise.
func TestResponsesGETFollowsTheClientsDialect(t *testing.T) {
	f := newFixture(t)
	if err := f.gw.Apply(f.conf(gwConfig)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path, header string
		anthropic    bool
	}{
		{"/v1/responses", "", false},
		{"/v1/responses", "anthropic-version", true},
		{"/responses", "x-api-key", true},
	} {
		req, err := http.NewRequest("GET", f.url+tt.path, strings.NewReader(""))
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
		if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
			t.Fatalf("GET %s: got %d Allow %q %s (%v), want a 405 allowing POST", tt.path, resp.StatusCode, resp.Header.Get("Allow"), b, err)
		}
		if got := e.Type == "error" && e.Error.Type == "invalid_request_error"; got != tt.anthropic {
			t.Errorf("GET %s with %q: got %s, want Anthropic's format %v", tt.path, tt.header, b, tt.anthropic)
		}
		if !tt.anthropic && e.Error.Code != "method_not_allowed" {
			t.Errorf("GET %s: got %s, want OpenAI's method_not_allowed", tt.path, b)
		}
	}
}
