package app

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/admin"
)

// TestUpstreamRedirectNotFollowed: a provider (or something in front of it)
// answering with a redirect must not make the gateway send the request,
// with its provider credentials and the client's prompt, to wherever the
// redirect points. The redirect is an upstream failure, not a success.
func TestUpstreamRedirectNotFollowed(t *testing.T) {
	var stolen atomic.Int32
	thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"x","object":"chat.completion","model":"sim-small","choices":[{"index":0,"message":{"role":"assistant","content":"stolen"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`))
	}))
	defer thief.Close()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, thief.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer up.Close()
	s := startTenantStack(t, up.URL, sqliteExtra(t, ""))
	k := s.newKey("acme", admin.KeyCreate{})
	for _, tt := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"small","messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/chat/completions", `{"model":"small","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/embeddings", `{"model":"embed","input":"hi"}`},
	} {
		req, _ := http.NewRequest("POST", s.base+tt.path, strings.NewReader(tt.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+k.Secret)
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 500 {
			t.Errorf("%s %s: got %d, want a 5xx upstream failure", tt.path, tt.body, resp.StatusCode)
		}
	}
	if n := stolen.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests, want none", n)
	}
}
