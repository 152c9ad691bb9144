package app

import (
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
	far := s.newKey("globex", admin.KeyCreate{AllowedRoutes: []string{"anthropic-first"}})
	if code, out, _ := s.send("/v1/conversations", `{}`, "Authorization", "Bearer "+far.Secret); code != 403 {
		t.Errorf("conversation by a key whose routes never reach the holder: got %d %s, want 403", code, out)
	}
	near := s.newKey("initech", admin.KeyCreate{AllowedRoutes: []string{"cheap"}})
	if code, out, _ := s.send("/v1/conversations", `{}`, "Authorization", "Bearer "+near.Secret); code != 200 {
		t.Errorf("conversation by a key whose route targets the holder: got %d %s, want 200", code, out)
	}
}
