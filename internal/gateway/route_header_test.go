package gateway_test

import (
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/gateway"
)

// TestUnknownModelNotEchoedInRouteHeader: a model the config does not
// know is the client's own text; the 404 must not copy it into
// X-Switchyard-Route, where a NUL byte or a megabyte of it made the SDKs'
// HTTP clients fail with a connection error (and retry) instead of
// reading the 404.
func TestUnknownModelNotEchoedInRouteHeader(t *testing.T) {
	f := newFixture(t)
	if err := f.gw.Apply(f.conf(gwConfig)); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("m", 1500) // under the fixture's body limit
	tests := []struct {
		name, path, body string
		wantStatus       int
		wantRoute        string
	}{
		{"openai NUL", oaPath, `{"model":"auto\u0000","messages":[{"role":"user","content":"hi"}]}`, 404, ""},
		{"openai long", oaPath, `{"model":"` + long + `","messages":[{"role":"user","content":"hi"}]}`, 404, ""},
		{"anthropic long", anPath, `{"model":"` + long + `","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, 404, ""},
		{"known route", oaPath, `{"model":"auto","messages":[{"role":"user","content":"hi"}]}`, 200, "auto"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := f.do("POST", tt.path, strings.NewReader(tt.body))
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status: got %d, want %d; %s", resp.StatusCode, tt.wantStatus, b)
			}
			if got := resp.Header.Get(gateway.HeaderRoute); got != tt.wantRoute {
				t.Errorf("%s: got %.40q (%d bytes), want %q", gateway.HeaderRoute, got, len(got), tt.wantRoute)
			}
		})
	}
}
