package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/tidwall/gjson"
)

// TestResponsesWebSocketWarmUpRefused: a warm-up (generate: false) the
// guard refuses gets the error event a response.create refused the same
// way gets: the status, type and code the HTTP request would have got.
func TestResponsesWebSocketWarmUpRefused(t *testing.T) {
	guard := &switchGuard{}
	g, srv := serveConfig(t, `
providers:
  - {name: up, kind: openai, base_url: "http://127.0.0.1:1/v1"}
deployments:
  - {name: m, provider: up, model: m}
`, Options{Guard: guard, Recorder: make(records, 64)})
	defer srv.Close()
	defer g.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/responses",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer sk-test"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	errorEvent := func(ev string) gjson.Result {
		t.Helper()
		if err := c.Write(ctx, websocket.MessageText, []byte(ev)); err != nil {
			t.Fatal(err)
		}
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r := gjson.ParseBytes(data); r.Get("type").Str == "error" {
				return r
			}
		}
	}
	for _, tc := range []struct {
		name      string
		refusal   *Denied
		status    int
		typ, code string
	}{
		{"revoked", &Denied{Status: 401, Code: "invalid_api_key", Type: "authentication_error", Message: "invalid or missing API key"}, 401, "authentication_error", "invalid_api_key"},
		{"expired", &Denied{Status: 401, Code: "expired_api_key", Type: "authentication_error", Message: "the API key has expired"}, 401, "authentication_error", "expired_api_key"},
		{"tenant disabled", &Denied{Status: 403, Code: "tenant_disabled", Type: "permission_error", Message: "the API key's tenant is disabled"}, 403, "permission_error", "tenant_disabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			guard.refusal.Store(tc.refusal)
			defer guard.refusal.Store(nil)
			warm := errorEvent(`{"type":"response.create","model":"m","input":"hi","generate":false}`)
			turn := errorEvent(`{"type":"response.create","model":"m","input":"hi"}`)
			for name, ev := range map[string]gjson.Result{"warm-up": warm, "response": turn} {
				if got := [3]any{ev.Get("status").Int(), ev.Get("error.type").Str, ev.Get("error.code").Str}; got != [3]any{int64(tc.status), tc.typ, tc.code} {
					t.Errorf("%s: got status, type, code %v, want %v", name, got, [3]any{int64(tc.status), tc.typ, tc.code})
				}
			}
			if warm.Get("error.message").Str != turn.Get("error.message").Str {
				t.Errorf("warm-up message %q, response's %q", warm.Get("error.message").Str, turn.Get("error.message").Str)
			}
		})
	}
}
