package httpmux

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestUnclean(t *testing.T) {
	for path, want := range map[string]bool{
		"/v1/chat/completions": false, "/v1//chat": true, "/v1/./messages": true, "/v1/models/../models": true,
		"/v1/.": true, "/v1/..": true, "/v1/.well-known": false, "/v1/..x/y": false, "/a/.b/./c": true, "/": false,
	} {
		if got := Unclean(path); got != want {
			t.Errorf("Unclean(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestHandleWrongMethods(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x/{id}", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("POST /x/compact", func(http.ResponseWriter, *http.Request) {})
	HandleWrongMethods(mux, "/x/compact", []string{"POST"}, func(allow string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	})
	for method, want := range map[string]int{"POST": 200, "PUT": 405, "GET": 405, "TRACE": 405} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(method, "/x/compact", nil))
		if w.Code != want || want == 405 && w.Header().Get("Allow") != "POST" {
			t.Errorf("%s: %d Allow %q, want %d", method, w.Code, w.Header().Get("Allow"), want)
		}
	}
	if got := Allow([]string{"POST", "GET", "DELETE"}); got != "GET, HEAD, POST, DELETE" {
		t.Errorf("Allow = %q", got)
	}
}
