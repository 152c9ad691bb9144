package batch

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
