package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/store"
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

// switchGuard accepts its one key until refusal is set, then answers
// with it (a key revoked, or a key store that cannot be reached).
type switchGuard struct {
	refusal atomic.Pointer[Denied]
}

func (g *switchGuard) Authenticate(context.Context, http.Header) (*Principal, error) {
	if d := g.refusal.Load(); d != nil {
		return nil, d
	}
	return &Principal{TenantID: "acme", KeyID: "key_1"}, nil
}

func (*switchGuard) Admit(context.Context, *Principal, string, int, float64) (Admission, error) {
	return noopAdmission{}, nil
}

// scriptedRealtime is a Realtime upstream that opens each session with
// session.created and answers every client event containing trigger
// (`"response.create"`, say) with the events of script.
func scriptedRealtime(trigger string, script ...string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"session.created","event_id":"e0","session":{}}`))
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			if !strings.Contains(string(data), trigger) {
				continue
			}
			for _, ev := range script {
				if c.Write(ctx, websocket.MessageText, []byte(ev)) != nil {
					return
				}
			}
		}
	}))
}

// serveConfig runs a gateway on the config text yaml, with opts and an
// executor made for the config, behind a test server; the caller closes
// both (g first), in its own order with its upstream's.
func serveConfig(t *testing.T, yaml string, opts Options) (*Gateway, *httptest.Server) {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	opts.Executor = executor.New(ExecutorOptions(cfg))
	g := New(opts)
	if err := g.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	return g, httptest.NewServer(g.Handler())
}

// records keeps the usage records a gateway writes.
type records chan store.UsageRecord

func (r records) Enqueue(rec store.UsageRecord) { r <- rec }

// TestRealtimeRecheckTurnDetection: a response the upstream starts by
// itself (its turn detection, on input_audio_buffer.commit here) is
// checked like one the client asks for: once the key is refused, its
// response.created is not passed on and the session ends with an error
// event and 1008, billed only the responses before. A check that cannot
// be made (the key store unreachable) lets the session go on.
func TestRealtimeRecheckTurnDetection(t *testing.T) {
	up := scriptedRealtime(`"input_audio_buffer.commit"`,
		`{"type":"response.created","response":{"id":"resp_1","status":"in_progress"}}`,
		`{"type":"response.output_text.delta","delta":"Hi."}`,
		`{"type":"response.done","response":{"id":"resp_1","status":"completed","usage":{"input_tokens":10,"output_tokens":5}}}`,
	)
	defer up.Close()
	guard, recs := &switchGuard{}, make(records, 4)
	g, srv := serveConfig(t, `
providers:
  - {name: up, kind: openai, base_url: "`+up.URL+`/v1"}
deployments:
  - {name: voice, provider: up, model: voice-1, price: {input_per_mtok: 4, output_per_mtok: 16}, capabilities: {chat: false, realtime: true}}
`, Options{Guard: guard, Recorder: recs})
	defer srv.Close()
	defer g.Close()

	unreachable := &Denied{Status: http.StatusServiceUnavailable, Code: "auth_unavailable", Type: "api_error", Message: "the key store is unreachable"}
	revoked := &Denied{Status: http.StatusUnauthorized, Code: "invalid_api_key", Type: "authentication_error", Message: "invalid or missing API key"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/realtime?model=voice",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer sk-test"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// read reads events up to one of type last, and returns their types.
	read := func(last string) (types []string, lastEvent []byte) {
		t.Helper()
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("reading to %s: %v after %v", last, err, types)
			}
			typ := gjson.GetBytes(data, "type").Str
			if types = append(types, typ); typ == last {
				return types, data
			}
		}
	}
	read("session.created")
	commit := []byte(`{"type":"input_audio_buffer.commit"}`)
	for i, refusal := range []*Denied{nil, unreachable} {
		guard.refusal.Store(refusal)
		if err := c.Write(ctx, websocket.MessageText, commit); err != nil {
			t.Fatal(err)
		}
		if types, _ := read("response.done"); types[0] != "response.created" {
			t.Fatalf("turn %d: events %v", i, types)
		}
	}
	guard.refusal.Store(revoked)
	if err := c.Write(ctx, websocket.MessageText, commit); err != nil {
		t.Fatal(err)
	}
	types, ev := read("error")
	if len(types) != 1 {
		t.Errorf("events %v, want only the error: the response is not passed on", types)
	}
	if e := gjson.GetBytes(ev, "error"); e.Get("code").Str != "invalid_api_key" || e.Get("type").Str != "authentication_error" || e.Get("event_id").Type != gjson.Null {
		t.Errorf("error event %s", ev)
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Errorf("session closed with %v, want 1008", err)
	}
	select {
	case rec := <-recs:
		if rec.InputTokens != 20 || rec.OutputTokens != 10 || rec.Partial || rec.ErrorCode != "invalid_api_key" || rec.KeyID != "key_1" {
			t.Errorf("session record %+v, want the two responses before the refusal", rec)
		}
	case <-ctx.Done():
		t.Fatal("no usage record")
	}
}

// A response.done reporting negative or absurd token counts is clamped as
// every adapter's usage is: a negative count must not make a negative cost
// that would hand spend back to a budget.
func TestRealtimeUsageClamped(t *testing.T) {
	s := &session{x: &exchange{}, rt: &runtime{deployments: map[string]*deployment{}}, deployment: "rt"}
	s.observe(context.Background(), []byte(`{"type":"response.done","response":{"usage":{"input_tokens":-1000,"output_tokens":9223372036854775807,"input_token_details":{"cached_tokens":-5}}}}`))
	if u := s.x.usage; u.InputTokens != 0 || u.CachedInputTokens != 0 || u.OutputTokens <= 0 || u.OutputTokens > llm.MaxReportedTokens {
		t.Errorf("got usage %+v, want counts clamped to [0, %d]", u, llm.MaxReportedTokens)
	}
}

// TestWSQueuedBound: the responses waiting on a connection, which no limit
// of the key holds yet, are bounded in bytes per connection and for the
// process; a refused one counts nothing, and a response taken to run gives
// its bytes back (found by audit J: one connection pinned 700 MiB).
func TestWSQueuedBound(t *testing.T) {
	defer func(c, p int64) { maxWSQueuedBytes, maxWSQueuedTotal = c, p }(maxWSQueuedBytes, maxWSQueuedTotal)
	maxWSQueuedBytes, maxWSQueuedTotal = 100, 150
	g := &Gateway{}
	a, b := &wsConn{g: g}, &wsConn{g: g}
	if why := a.enqueue(60); why != "" {
		t.Fatalf("60 of 100: %s", why)
	}
	if why := a.enqueue(60); !strings.Contains(why, "this connection") {
		t.Errorf("120 on one connection: got %q, want the connection's bound", why)
	}
	if why := b.enqueue(95); !strings.Contains(why, "the gateway") {
		t.Errorf("60 + 95 in the process: got %q, want the process's bound", why)
	}
	if why := b.enqueue(40); why != "" {
		t.Errorf("100 in the process: %s", why)
	}
	a.dequeue(60)
	b.dequeue(40)
	if a.queued.Load() != 0 || b.queued.Load() != 0 || g.wsQueued.Load() != 0 {
		t.Errorf("after every response ran: %d, %d, process %d; want 0", a.queued.Load(), b.queued.Load(), g.wsQueued.Load())
	}
}
