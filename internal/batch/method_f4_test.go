package batch

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestWrongMethodFollowsTheClientsDialect: a wrong method on a Files or
// Batch path is a 405 in Anthropic's format for a request carrying
// anthropic-version or x-api-key (README), in OpenAI's otherwise.
func TestWrongMethodFollowsTheClientsDialect(t *testing.T) {
	q := NewEmbedded(1, nil)
	defer q.Close()
	mux := http.NewServeMux()
	NewAPI(APIOptions{Auth: tenantT{}, Queue: q}).Register(mux)
	for _, tt := range []struct {
		method, path, header string
		anthropic            bool
	}{
		{"PUT", "/v1/files", "", false},
		{"PUT", "/v1/files", "anthropic-version", true},
		{"DELETE", "/v1/files", "x-api-key", true},
		{"PUT", "/v1/files/file-x/content", "x-api-key", true},
		{"PUT", "/batches/batch_x", "anthropic-version", true},
		{"GET", "/v1/batches/batch_x/cancel", "anthropic-version", true},
		{"GET", "/v1/batches/batch_x/cancel", "", false},
	} {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		if tt.header != "" {
			r.Header.Set(tt.header, "2023-06-01")
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		var e struct {
			Type  string `json:"type"`
			Error struct {
				Type string `json:"type"`
				Code string `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") == "" {
			t.Fatalf("%s %s: got %d Allow %q %s (%v), want a 405 with Allow", tt.method, tt.path, w.Code, w.Header().Get("Allow"), w.Body, err)
		}
		if got := e.Type == "error" && e.Error.Type == "invalid_request_error"; got != tt.anthropic {
			t.Errorf("%s %s with %q: got %s, want Anthropic's format %v", tt.method, tt.path, tt.header, w.Body, tt.anthropic)
		}
		if !tt.anthropic && e.Error.Code != "method_not_allowed" {
			t.Errorf("%s %s: got %s, want OpenAI's method_not_allowed", tt.method, tt.path, w.Body)
		}
	}
}
