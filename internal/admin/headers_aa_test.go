package admin

import (
	"net/http"
	"testing"
)

// Every admin answer, a refusal included, is kept out of caches and says
// not to sniff its type (found by audit AA: JSON answers had no
// X-Content-Type-Options).
func TestAdminAnswerHeaders(t *testing.T) {
	e := newEnv(t)
	for _, key := range []string{adminKey, "sk-wrong"} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/admin/tenants", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("status %d: got X-Content-Type-Options %q, want nosniff", resp.StatusCode, got)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("status %d: got Cache-Control %q, want no-store", resp.StatusCode, got)
		}
	}
}
