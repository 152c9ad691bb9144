package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// The Realtime relay's overhead per event against the floor (a bare
// httputil.ReverseProxy, which relays the WebSocket upgrade and then
// copies bytes): one op is a client event to an upstream that echoes it
// and the echo back, two frames through the proxy, on one session.
//
//	go test -run '^$' -bench 'Realtime' -benchmem ./internal/gateway

// realtimeEvent is a typical small client event (a session.update).
const realtimeEvent = `{"type":"session.update","session":{"type":"realtime","instructions":"You are a helpful, brief assistant. Answer in one sentence.","output_modalities":["text"]}}`

// echoUpstream accepts Realtime sessions and echoes every frame.
func echoUpstream(b *testing.B) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"session.created","event_id":"e0","session":{}}`)); err != nil {
			return
		}
		for {
			typ, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, data); err != nil {
				return
			}
		}
	}))
	b.Cleanup(srv.Close)
	return srv
}

// driveRealtime opens one session at base and sends b.N events, reading
// each echo.
func driveRealtime(b *testing.B, base, query string) {
	b.Helper()
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, strings.Replace(base, "http://", "ws://", 1)+"/v1/realtime?"+query, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	if _, first, err := c.Read(ctx); err != nil || !strings.Contains(string(first), "session.created") {
		b.Fatalf("first event %s: %v", first, err)
	}
	ev := []byte(realtimeEvent)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := c.Write(ctx, websocket.MessageText, ev); err != nil {
			b.Fatal(err)
		}
		if _, got, err := c.Read(ctx); err != nil || len(got) != len(ev) {
			b.Fatalf("echo %q: %v", got, err)
		}
	}
	b.StopTimer()
	c.Close(websocket.StatusNormalClosure, "")
}

func BenchmarkRealtimeFloor(b *testing.B) {
	driveRealtime(b, floor(b, echoUpstream(b).URL), "model=bench")
}

func BenchmarkRealtimeGateway(b *testing.B) {
	base := serveConfig(b, `
providers:
  - {name: up, kind: openai, base_url: "`+echoUpstream(b).URL+`/v1"}
deployments:
  - {name: voice, provider: up, model: bench, capabilities: {chat: false, realtime: true}}
`)
	driveRealtime(b, base, "model=voice")
}
