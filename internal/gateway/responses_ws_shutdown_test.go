package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/tidwall/gjson"
)

// TestResponsesWebSocketShutdownRecorded: a WebSocket-mode response cut
// by a graceful shutdown is recorded as the shutdown's (error shutdown,
// partial), as the same response over HTTP is, not as a client that
// went away; the connection is closed with 1001.
func TestResponsesWebSocketShutdownRecorded(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"model\":\"m\",\"status\":\"in_progress\",\"output\":[]}}\n\n"+
			"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hello \"}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the rest never comes
	}))
	defer up.Close()
	recs := make(records, 4)
	g, srv := serveConfig(t, `
providers:
  - {name: up, kind: openai, base_url: "`+up.URL+`/v1"}
deployments:
  - {name: slow, provider: up, model: m}
`, Options{Recorder: recs})
	defer srv.Close()
	defer g.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/responses", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"response.create","model":"slow","input":"hi"}`)); err != nil {
		t.Fatal(err)
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if gjson.GetBytes(data, "type").Str == "response.output_text.delta" {
			break
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- g.CloseSessions(ctx) }()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Errorf("connection closed with %v, want 1001", err)
			}
			break
		}
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case rec := <-recs:
			if rec.Route == "" {
				continue // the connection's own record
			}
			if rec.ErrorCode != "shutdown" || !rec.Partial {
				t.Errorf("the cut response's record: error %q partial %v, want shutdown, partial", rec.ErrorCode, rec.Partial)
			}
			return
		case <-ctx.Done():
			t.Fatal("no usage record of the response")
		}
	}
}
