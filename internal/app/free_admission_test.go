package app

import (
	"net/http"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// TestFreeEndpointsCountAgainstRateLimits: counting tokens and creating a
// conversation cost nothing but may call the shared upstream account, so
// they count against the key's request rate like any request; and a key
// whose routes never reach the deployment holding conversations may not
// make one there.
func TestFreeEndpointsCountAgainstRateLimits(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""))
	for _, tt := range []struct{ name, path, body string }{
		{"count_tokens", "/v1/messages/count_tokens", `{"model":"claude","messages":[{"role":"user","content":"hi"}]}`},
		{"input_tokens", "/v1/responses/input_tokens", `{"model":"medium","input":"hi"}`},
		{"conversations", "/v1/conversations", `{}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := s.newKey("acme-"+tt.name, admin.KeyCreate{Limits: tenancy.Limits{RPM: 1}})
			hdr := []string{"Authorization", "Bearer " + k.Secret, "anthropic-version", "2023-06-01"}
			if code, out, _ := s.send(tt.path, tt.body, hdr...); code != 200 {
				t.Fatalf("first: got %d %s", code, out)
			}
			if code, out, _ := s.send(tt.path, tt.body, hdr...); code != 429 {
				t.Errorf("second within the minute at rpm 1: got %d %s, want 429", code, out)
			}
		})
	}
	// Reading or changing objects kept upstream calls the shared account
	// too (a list may read several pages of it).
	for _, path := range []string{"/v1/chat/completions?limit=5", "/v1/chat/completions/chatcmpl-x", "/v1/videos", "/v1/videos/video_x",
		"/v1/conversations/conv_x", "/v1/conversations/conv_x/items", "/v1/responses/resp_x"} {
		k := s.newKey("acme-get", admin.KeyCreate{Limits: tenancy.Limits{RPM: 1}})
		get := func() int {
			req, _ := http.NewRequest("GET", s.base+path, nil)
			req.Header.Set("Authorization", "Bearer "+k.Secret)
			resp, err := s.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := get(); code == 429 {
			t.Fatalf("GET %s: the first got 429", path)
		}
		if code := get(); code != 429 {
			t.Errorf("GET %s twice within the minute at rpm 1: got %d, want 429", path, code)
		}
	}
	far := s.newKey("globex", admin.KeyCreate{AllowedRoutes: []string{"anthropic-first"}})
	if code, out, _ := s.send("/v1/conversations", `{}`, "Authorization", "Bearer "+far.Secret); code != 403 {
		t.Errorf("conversation by a key whose routes never reach the holder: got %d %s, want 403", code, out)
	}
	near := s.newKey("initech", admin.KeyCreate{AllowedRoutes: []string{"cheap"}})
	if code, out, _ := s.send("/v1/conversations", `{}`, "Authorization", "Bearer "+near.Secret); code != 200 {
		t.Errorf("conversation by a key whose route targets the holder: got %d %s, want 200", code, out)
	}
}
