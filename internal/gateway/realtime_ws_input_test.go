package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestMalformedWebSocketHandshake: a handshake websocket.Accept would
// refuse gets the refusal in OpenAI's error format (not the library's
// plain text) on the Realtime API and the Responses API's WebSocket mode,
// and the Realtime API dials no deployment for it.
func TestMalformedWebSocketHandshake(t *testing.T) {
	var dials atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dials.Add(1)
		http.Error(w, "not a session", http.StatusBadRequest)
	}))
	defer up.Close()
	g, srv := serveConfig(t, `
providers:
  - {name: up, kind: openai, base_url: "`+up.URL+`/v1"}
deployments:
  - {name: voice, provider: up, model: voice-1, capabilities: {chat: false, realtime: true}}
`, Options{Guard: &switchGuard{}})
	defer srv.Close()
	defer g.Close()

	const goodKey = "dGhlIHNhbXBsZSBub25jZQ=="
	for _, tt := range []struct {
		name       string
		header     map[string]string
		wantStatus int
		wantCode   string
		wantHeader string // a header the refusal carries, name: value
	}{
		{"bad key", map[string]string{"Sec-WebSocket-Key": "!!notbase64"}, http.StatusBadRequest, "invalid_websocket_handshake", ""},
		{"short key", map[string]string{"Sec-WebSocket-Key": "c2hvcnQ="}, http.StatusBadRequest, "invalid_websocket_handshake", ""},
		{"no key", map[string]string{"Sec-WebSocket-Key": ""}, http.StatusBadRequest, "invalid_websocket_handshake", ""},
		{"old version", map[string]string{"Sec-WebSocket-Version": "8"}, http.StatusUpgradeRequired, "invalid_websocket_handshake", "Sec-Websocket-Version: 13"},
		{"no Connection: Upgrade", map[string]string{"Connection": "keep-alive"}, http.StatusUpgradeRequired, "websocket_required", "Upgrade: websocket"},
	} {
		for _, path := range []string{"/v1/realtime?model=voice", "/v1/responses"} {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				dials.Store(0)
				req, err := http.NewRequest("GET", srv.URL+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer sk-test")
				req.Header.Set("Upgrade", "websocket")
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Sec-WebSocket-Version", "13")
				req.Header.Set("Sec-WebSocket-Key", goodKey)
				for k, v := range tt.header {
					if v == "" {
						req.Header.Del(k)
					} else {
						req.Header.Set(k, v)
					}
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				var e struct {
					Error struct{ Code, Message string }
				}
				if res.StatusCode != tt.wantStatus || json.Unmarshal(b, &e) != nil || e.Error.Code != tt.wantCode {
					t.Errorf("got %d %s %s, want %d with code %s", res.StatusCode, res.Header.Get("Content-Type"), b, tt.wantStatus, tt.wantCode)
				}
				if name, value, ok := strings.Cut(tt.wantHeader, ": "); ok && res.Header.Get(name) != value {
					t.Errorf("header %s: got %q, want %q", name, res.Header.Get(name), value)
				}
				if n := dials.Load(); n != 0 {
					t.Errorf("the upstream was dialled %d times, want none", n)
				}
			})
		}
	}
}
