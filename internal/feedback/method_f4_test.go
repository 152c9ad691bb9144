package feedback

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestWrongMethodFollowsTheClientsDialect: a wrong method on /v1/feedback
// is a 405 in Anthropic's format for a request carrying anthropic-version
// or x-api-key (README), in OpenAI's otherwise.
func TestWrongMethodFollowsTheClientsDialect(t *testing.T) {
	a := New(Options{Store: failingStore{}})
	for _, tt := range []struct {
		header    string
		anthropic bool
	}{{"", false}, {"anthropic-version", true}, {"x-api-key", true}} {
		r := httptest.NewRequest("PUT", Path, nil)
		if tt.header != "" {
			r.Header.Set(tt.header, "2023-06-01")
		}
		w := httptest.NewRecorder()
		a.ServeHTTP(w, r)
		var e struct {
			Type  string `json:"type"`
			Error struct {
				Type string `json:"type"`
				Code string `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" {
			t.Fatalf("with %q: got %d Allow %q %s (%v), want a 405 allowing POST", tt.header, w.Code, w.Header().Get("Allow"), w.Body, err)
		}
		if got := e.Type == "error" && e.Error.Type == "invalid_request_error"; got != tt.anthropic {
			t.Errorf("with %q: got %s, want Anthropic's format %v", tt.header, w.Body, tt.anthropic)
		}
		if !tt.anthropic && e.Error.Code != "method_not_allowed" {
			t.Errorf("got %s, want OpenAI's method_not_allowed", w.Body)
		}
	}
}
