package httpmux

import (
	"io"
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

// TestServeExtensionMethods: a method outside Methods (PROPFIND, a made-up
// one) on a known path gets the path's 405 and Allow, its handler seeing
// the method the client sent; on an unknown path the mux's 404. The
// served methods are served as before.
func TestServeExtensionMethods(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "id "+r.PathValue("id")) })
	mux.HandleFunc("POST /x/compact", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "compact") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no "+r.Method, http.StatusNotFound) })
	for _, p := range []struct {
		path    string
		methods []string
	}{{"/x/{id}", []string{"GET"}}, {"/x/compact", []string{"POST"}}} {
		HandleWrongMethods(mux, p.path, p.methods, func(allow string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Allow", allow)
				http.Error(w, r.Method+" not allowed", http.StatusMethodNotAllowed)
			}
		})
	}
	for _, tt := range []struct {
		method, path string
		want         int
		allow, body  string
	}{
		{"PROPFIND", "/x/compact", 405, "POST", "PROPFIND not allowed\n"},
		{"FOO", "/x/7", 405, "GET, HEAD", "FOO not allowed\n"},
		{"post", "/x/compact", 405, "POST", "post not allowed\n"},
		{"PROPFIND", "/y", 404, "", "no PROPFIND\n"},
		{"POST", "/x/compact", 200, "", "compact"},
		{"GET", "/x/7", 200, "", "id 7"},
		{"PUT", "/x/compact", 405, "POST", "PUT not allowed\n"},
	} {
		w := httptest.NewRecorder()
		Serve(mux, w, httptest.NewRequest(tt.method, tt.path, nil))
		if w.Code != tt.want || w.Header().Get("Allow") != tt.allow || w.Body.String() != tt.body {
			t.Errorf("%s %s: got %d Allow %q %q, want %d Allow %q %q", tt.method, tt.path, w.Code, w.Header().Get("Allow"), w.Body, tt.want, tt.allow, tt.body)
		}
	}
}
