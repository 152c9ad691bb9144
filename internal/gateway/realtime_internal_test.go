package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestSettle: while a client secret's settings are applied, the upstream's
// session.created is held and sent once, carrying the session of the
// session.updated that answers the settings; anything else first ends the
// wait with every event passed on as it came.
func TestSettle(t *testing.T) {
	const (
		created = `{"type":"session.created","event_id":"e1","session":{"instructions":""}}`
		updated = `{"type":"session.updated","event_id":"e2","session":{"instructions":"be brief"}}`
		refused = `{"type":"error","event_id":"e2","error":{"code":"invalid_value"}}`
		other   = `{"type":"conversation.item.created","event_id":"e3"}`
	)
	for _, tc := range []struct {
		name   string
		events []string
		want   []string // frames sent, one slice per event
	}{
		{"applied", []string{created, updated, other},
			[]string{"", `{"type":"session.created","event_id":"e1","session":{"instructions":"be brief"}}`, other}},
		{"refused", []string{created, refused, updated},
			[]string{"", created + "|" + refused, updated}},
		{"another event first", []string{created, other, updated},
			[]string{"", created + "|" + other, updated}},
		{"updated without a created", []string{updated, created},
			[]string{updated, created}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &session{settling: true}
			for i, ev := range tc.events {
				var got []string
				frames := [][]byte{[]byte(ev)}
				if s.settling {
					frames = s.settle([]byte(ev))
				}
				for _, f := range frames {
					got = append(got, string(f))
				}
				if g := strings.Join(got, "|"); g != tc.want[i] {
					t.Errorf("event %d: sent %q, want %q", i, g, tc.want[i])
				}
			}
			if s.settling {
				t.Error("still settling after every event")
			}
		})
	}
}

// TestTurnWriter: a WebSocket-mode turn's server-sent events become one
// message each, whatever the writes' boundaries, with the lane's
// stream_id added and [DONE] and comments dropped; a refusal becomes one
// error event with the HTTP status.
func TestTurnWriter(t *testing.T) {
	got := make(chan string, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		c := &wsConn{conn: conn}
		ctx := r.Context()
		tw := &turnWriter{ctx: ctx, c: c, lane: "l1", header: http.Header{"Content-Type": {"text/event-stream"}}}
		tw.WriteHeader(http.StatusOK)
		stream := "event: response.created\ndata: {\"type\":\"response.created\"}\n\n: keep-alive\n\nevent: response.completed\ndata: {\"type\":\"response.completed\"}\n\ndata: [DONE]\n\n"
		for i := 0; i < len(stream); i += 7 {
			_, _ = tw.Write([]byte(stream[i:min(i+7, len(stream))]))
		}
		tw.end()
		refused := &turnWriter{ctx: ctx, c: c, header: http.Header{"Content-Type": {"application/json"}}}
		refused.WriteHeader(http.StatusTooManyRequests)
		_, _ = refused.Write([]byte(`{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`))
		refused.end()
		conn.Close(websocket.StatusNormalClosure, "")
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	go func() {
		defer close(got)
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			got <- string(b)
		}
	}()
	var msgs []string
	for m := range got {
		msgs = append(msgs, m)
	}
	want := []string{
		`{"type":"response.created","stream_id":"l1"}`,
		`{"type":"response.completed","stream_id":"l1"}`,
		`{"type":"error","status":429,"error":{"type":"rate_limit_error","code":"rate_limit_exceeded","message":"slow down","param":null}}`,
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("messages:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
}

// TestTurnWriterKeepsIncomplete: a store-false response that ended
// incomplete (max_output_tokens) is kept in the connection like a
// completed one, so a follow-up can continue it.
func TestTurnWriterKeepsIncomplete(t *testing.T) {
	for _, typ := range []string{"response.completed", "response.incomplete", "response.failed"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer conn.CloseNow()
			tw := &turnWriter{ctx: r.Context(), c: &wsConn{conn: conn}, keep: true, header: http.Header{"Content-Type": {"text/event-stream"}}}
			tw.WriteHeader(http.StatusOK)
			_, _ = tw.Write([]byte("data: {\"type\":\"" + typ + "\",\"response\":{\"id\":\"resp_abc123\",\"output\":[{\"type\":\"message\"}]}}\n\n"))
			tw.end()
			want := typ != "response.failed"
			if got := tw.doneID == "resp_abc123" && string(tw.output) == `[{"type":"message"}]`; got != want {
				t.Errorf("%s: kept %q %s, want kept %v", typ, tw.doneID, tw.output, want)
			}
			conn.Close(websocket.StatusNormalClosure, "")
		}))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				break
			}
		}
		conn.CloseNow()
		cancel()
		srv.Close()
	}
}

// TestWSKeptTotalBound: what all connections keep is bounded for the
// process: past the bound a response is not kept, and what a connection
// kept is given back when it ends.
func TestWSKeptTotalBound(t *testing.T) {
	defer func(v int64) { maxWSKeptTotal = v }(maxWSKeptTotal)
	maxWSKeptTotal = 100
	g := New(Options{})
	a, b := &wsConn{g: g}, &wsConn{g: g}
	body := []byte(`{"input":"` + strings.Repeat("x", 30) + `"}`)
	a.keep("resp_a", body, []byte("[]"))
	b.keep("resp_b", body, []byte("[]"))
	if got := g.wsKept.Load(); got <= 0 || got > 100 {
		t.Fatalf("kept %d bytes, want both (under 100)", got)
	}
	b.keep("resp_c", body, []byte("[]")) // past the bound: not kept
	if _, ok := b.kept["resp_c"]; ok || g.wsKept.Load() > 100 {
		t.Errorf("kept resp_c past the bound: %d bytes", g.wsKept.Load())
	}
	a.forgetAll()
	b.forgetAll()
	if got := g.wsKept.Load(); got != 0 {
		t.Errorf("after both connections ended: %d bytes kept, want 0", got)
	}
}
