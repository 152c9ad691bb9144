package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// TestResponsesWebSocket: the official Go SDK's Responses WebSocket mode
// through the gateway. Each response.create is a request of its own:
// relayed to an OpenAI deployment or translated for an Anthropic one,
// chained by previous_response_id, recorded with its own request id as
// the connection's key; a store-false response is continued from the
// connection's own copy; two stream_id lanes run at once with their events
// tagged; a refusal is an error event with the status HTTP would have
// given, and the connection goes on. The handshake is authenticated.
func TestResponsesWebSocket(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""))
	k := s.newKey("acme", admin.KeyCreate{})
	client := openai.NewClient(option.WithBaseURL(s.base+"/v1"), option.WithAPIKey(k.Secret), option.WithHTTPClient(s.hc), option.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	wrong := openai.NewClient(option.WithBaseURL(s.base+"/v1"), option.WithAPIKey("sk-wrong"), option.WithHTTPClient(s.hc), option.WithMaxRetries(0))
	if _, err := wrong.Responses.Connect(ctx, responses.ResponseConnectionOptions{}); err == nil {
		t.Fatal("connected with a wrong key")
	}
	// A browser cannot set headers: its key comes as a subprotocol.
	wsURL := strings.Replace(s.base, "http://", "ws://", 1) + "/v1/responses"
	for key, ok := range map[string]bool{k.Secret: true, "sk-wrong": false} {
		bc, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: s.hc, Subprotocols: []string{"openai-insecure-api-key." + key}})
		if (err == nil) != ok {
			t.Errorf("key subprotocol (valid %v): %v %v", ok, resp, err)
		}
		if bc != nil {
			bc.CloseNow()
		}
	}
	conn, err := client.Responses.Connect(ctx, responses.ResponseConnectionOptions{})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close()

	ask := func(model, input, previous string) *responses.Response {
		t.Helper()
		ev := responses.ResponsesClientEventResponseCreateParam{Model: model, Input: responses.ResponsesClientEventResponseCreateInputUnionParam{OfString: openai.String(input)}}
		if previous != "" {
			ev.PreviousResponseID = openai.String(previous)
		}
		if err := conn.Create(ctx, ev); err != nil {
			t.Fatalf("create (%s): %v", model, err)
		}
		r, err := conn.FinalResponse(ctx)
		if err != nil || r.Status != responses.ResponseStatusCompleted || r.OutputText() == "" {
			t.Fatalf("%s: %+v %v", model, r, err)
		}
		return r
	}
	first := ask("medium", "Which platform for the coast?", "")
	second := ask("medium", "And the return?", first.ID)
	if second.PreviousResponseID != first.ID {
		t.Errorf("second turn continues %q, want %q", second.PreviousResponseID, first.ID)
	}
	ask("claude", "Translated for Anthropic, over the same socket.", "")

	// store: false responses are kept in the connection only: a follow-up
	// naming one carries its conversation, so even a deployment that never
	// saw it (translated for Anthropic) answers with it as context.
	ephemeral := func(model, input, previous string) *responses.Response {
		t.Helper()
		ev := responses.ResponsesClientEventResponseCreateParam{Model: model, Store: openai.Bool(false),
			Input: responses.ResponsesClientEventResponseCreateInputUnionParam{OfString: openai.String(input)}}
		if previous != "" {
			ev.PreviousResponseID = openai.String(previous)
		}
		if err := conn.Create(ctx, ev); err != nil {
			t.Fatal(err)
		}
		r, err := conn.FinalResponse(ctx)
		if err != nil || r.Status != responses.ResponseStatusCompleted {
			t.Fatalf("store false (%s): %+v %v", model, r, err)
		}
		return r
	}
	e1 := ephemeral("medium", "Remember the platform number nine.", "")
	alone := ephemeral("claude", "Which platform?", "")
	e2 := ephemeral("claude", "Which platform?", e1.ID)
	if e2.PreviousResponseID != e1.ID {
		t.Errorf("a translated follow-up of a kept response names %q as its previous response, want %q", e2.PreviousResponseID, e1.ID)
	}
	if e2.Usage.InputTokens <= alone.Usage.InputTokens {
		t.Errorf("the follow-up read %d input tokens, the same question alone %d: the kept conversation was not sent", e2.Usage.InputTokens, alone.Usage.InputTokens)
	}
	e3 := ephemeral("medium", "And after that?", e2.ID)
	if e3.Usage.InputTokens <= e2.Usage.InputTokens {
		t.Errorf("the third turn read %d input tokens, the second %d: the chain did not grow", e3.Usage.InputTokens, e2.Usage.InputTokens)
	}

	// A warm-up (generate: false) runs no model and costs nothing; the
	// turn continuing it reads its input.
	if err := conn.Create(ctx, responses.ResponsesClientEventResponseCreateParam{Model: "claude", Generate: openai.Bool(false),
		Input: responses.ResponsesClientEventResponseCreateInputUnionParam{OfString: openai.String("Remember the platform number nine.")}}); err != nil {
		t.Fatal(err)
	}
	warm, err := conn.FinalResponse(ctx)
	if err != nil || warm.Status != responses.ResponseStatusCompleted || len(warm.Output) != 0 || warm.Usage.OutputTokens != 0 || warm.ID == "" {
		t.Fatalf("warm-up: %+v %v", warm, err)
	}
	if afterWarm := ephemeral("claude", "Which platform?", warm.ID); afterWarm.Usage.InputTokens <= alone.Usage.InputTokens {
		t.Errorf("after the warm-up the question read %d input tokens, alone %d", afterWarm.Usage.InputTokens, alone.Usage.InputTokens)
	}

	// Two lanes at once: every event carries its lane.
	la, err := conn.Lane("lane-a")
	if err != nil {
		t.Fatal(err)
	}
	lb, err := conn.Lane("lane-b")
	if err != nil {
		t.Fatal(err)
	}
	for _, lane := range []string{"lane-a", "lane-b"} {
		if err := conn.Create(ctx, responses.ResponsesClientEventResponseCreateParam{Model: "medium", StreamID: openai.String(lane),
			Input: responses.ResponsesClientEventResponseCreateInputUnionParam{OfString: openai.String("On " + lane)}}); err != nil {
			t.Fatal(err)
		}
	}
	for name, lane := range map[string]*responses.ResponseLane{"lane-a": la, "lane-b": lb} {
		n := 0
		for {
			ev, err := lane.Recv(ctx)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var tag struct {
				StreamID string `json:"stream_id"`
			}
			if err := json.Unmarshal([]byte(ev.RawJSON()), &tag); err != nil || tag.StreamID != name {
				t.Fatalf("%s: event %s has stream_id %q", name, ev.Type, tag.StreamID)
			}
			n++
			if ev.Type == "response.completed" {
				break
			}
		}
		if n < 3 {
			t.Errorf("%s: %d events, want a whole stream", name, n)
		}
	}

	// A refusal is an error event; the connection stays usable.
	if err := conn.Create(ctx, responses.ResponsesClientEventResponseCreateParam{Model: "no-such-model",
		Input: responses.ResponsesClientEventResponseCreateInputUnionParam{OfString: openai.String("hi")}}); err != nil {
		t.Fatal(err)
	}
	raw, err := conn.RecvRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var refusal struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
		Error  struct{ Code, Message string }
	}
	if err := json.Unmarshal(raw, &refusal); err != nil || refusal.Type != "error" || refusal.Status != http.StatusNotFound || refusal.Error.Message == "" {
		t.Errorf("unknown model: %s, want an error event with status 404", raw)
	}
	ask("medium", "Still there?", "")

	// Each response is authenticated again: once the key is revoked, the
	// open connection gets a 401 error event for the next.
	if code := s.adminDo("POST", "/admin/keys/"+k.ID+"/revoke", nil, nil); code != 200 && code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	extra := 0 // responses still answered before the revocation reached the key cache
	waitForT(t, "a 401 error event after the key's revocation", func() bool {
		if err := conn.Create(ctx, responses.ResponsesClientEventResponseCreateParam{Model: "medium",
			Input: responses.ResponsesClientEventResponseCreateInputUnionParam{OfString: openai.String("Revoked?")}}); err != nil {
			t.Fatal(err)
		}
		for {
			raw, err := conn.RecvRaw(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ev struct {
				Type   string `json:"type"`
				Status int    `json:"status"`
			}
			_ = json.Unmarshal(raw, &ev)
			switch ev.Type {
			case "error":
				return ev.Status == http.StatusUnauthorized
			case "response.completed":
				extra++
				return false
			}
		}
	}, func() string { return "still answered" })

	// Every response is a request of its own, the key's.
	conn.Close()
	want := 11 + extra // four asked one by one, five with store false, two lanes, and any answered before the revocation took (a warm-up is no call)
	waitForT(t, "a usage record per response", func() bool {
		n := 0
		for _, r := range s.exportUsage() {
			if r.KeyID == k.ID && r.Status == http.StatusOK && r.OutputTokens > 0 && r.Stream {
				n++
			}
		}
		return n == want
	}, func() string {
		var out []string
		for _, r := range s.exportUsage() {
			out = append(out, fmt.Sprintf("%s %d out=%d stream=%v key=%v", r.Route, r.Status, r.OutputTokens, r.Stream, r.KeyID == k.ID))
		}
		return strings.Join(out, "; ")
	})
}

// TestResponsesWebSocketShutdown: at shutdown an open WebSocket-mode
// connection is closed with 1001 (the SDKs reconnect, to another replica),
// after the usage records of its responses are written; events that are
// not a response.create get an error event and leave the connection open.
func TestResponsesWebSocketShutdown(t *testing.T) {
	s := startStack(t, fastSim(), baseConfig)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(s.base, "http://", "ws://", 1)+"/v1/responses", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(8 << 20)
	for _, ev := range []string{`{"type":"response.steer","input":"x"}`, `[1]`, `{"type":"response.create","model":"medium","input":"hi","background":true}`} {
		rtSend(t, ctx, c, ev)
		evs, err := rtUntil(ctx, c, "error")
		if err != nil || len(evs) != 1 {
			t.Fatalf("%s: %v %v", ev, rtTypes(evs), err)
		}
	}
	rtSend(t, ctx, c, `{"type":"response.create","model":"medium","input":"Last train?"}`)
	if evs, err := rtUntil(ctx, c, "response.completed"); err != nil {
		t.Fatalf("turn: %v %v", rtTypes(evs), err)
	}
	if _, metrics := getBody(t, s.hc, s.base+"/metrics"); !strings.Contains(metrics, "\nswitchyard_responses_websockets 1\n") {
		t.Errorf("metrics do not count the open connection")
	}
	closed := make(chan error, 1)
	go func() { _, _, err := c.Read(ctx); closed <- err }()
	s.stop()
	if err := <-closed; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("at shutdown the connection closed with %v, want 1001", err)
	}
	st := storeOf(t, "store: sqlite://"+filepath.Join(filepath.Dir(s.cfg), "switchyard.db"))
	found := false
	for _, r := range usageRecords(t, st) {
		found = found || r.Route == "medium" && r.Status == 200 && r.Stream && r.OutputTokens > 0
	}
	if !found {
		t.Errorf("the response has no usage record after shutdown")
	}
}

// TestResponsesWebSocketLimits: opening a connection and each warm-up
// count against the key's rate limit, although they cost nothing; a
// connection with no event and no response for server.idle_timeout is
// closed.
func TestResponsesWebSocketLimits(t *testing.T) {
	s := startEditedTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""), func(c string) string {
		return strings.Replace(c, "server:\n  listen: 127.0.0.1:0\n", "server:\n  listen: 127.0.0.1:0\n  idle_timeout: 300ms\n", 1)
	})
	k := s.newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{RPM: 3}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dial := func() (*websocket.Conn, *http.Response, error) {
		return websocket.Dial(ctx, strings.Replace(s.base, "http://", "ws://", 1)+"/v1/responses",
			&websocket.DialOptions{HTTPClient: s.hc, HTTPHeader: http.Header{"Authorization": {"Bearer " + k.Secret}}})
	}
	c, _, err := dial() // request 1 of 3
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	warm := `{"type":"response.create","model":"medium","input":"hi","generate":false}`
	for i := range 2 { // requests 2 and 3
		rtSend(t, ctx, c, warm)
		if evs, err := rtUntil(ctx, c, "response.completed"); err != nil {
			t.Fatalf("warm-up %d: %v %v", i, rtTypes(evs), err)
		}
	}
	rtSend(t, ctx, c, warm)
	evs, err := rtUntil(ctx, c, "error")
	if err != nil || !strings.Contains(fmt.Sprint(evs), "rate_limit_exceeded") {
		t.Errorf("a fourth free request: %v %v, want a rate_limit_exceeded error event", evs, err)
	}
	if _, resp, err := dial(); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a new connection past the limit: %v %v, want 429", resp, err)
	}
	// Idle for 300ms: closed by the gateway.
	start := time.Now()
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusNormalClosure || time.Since(start) > 10*time.Second {
		t.Errorf("idle connection: %v after %v, want closed (1000)", err, time.Since(start))
	}
}

// TestResponsesWebSocketBrowserKey: a browser, which cannot set a
// WebSocket's headers, puts its key in a subprotocol; the handshake must
// select one of the subprotocols offered, or the browser fails the
// connection (found by audit J): another offered one, else the key's.
func TestResponsesWebSocketBrowserKey(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""))
	k := s.newKey("acme", admin.KeyCreate{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keyProto := "openai-insecure-api-key." + k.Secret
	for _, offered := range [][]string{{keyProto}, {"openai-responses", keyProto}} {
		c, _, err := websocket.Dial(ctx, strings.Replace(s.base, "http://", "ws://", 1)+"/v1/responses",
			&websocket.DialOptions{HTTPClient: s.hc, Subprotocols: offered})
		if err != nil {
			t.Fatalf("offering %d subprotocols: %v", len(offered), err)
		}
		if got := c.Subprotocol(); got != offered[0] {
			t.Errorf("offering %v: selected %q, want %q", len(offered), got, offered[0])
		}
		rtSend(t, ctx, c, `{"type":"response.create","model":"medium","input":"hi","generate":false}`)
		if evs, err := rtUntil(ctx, c, "response.completed"); err != nil {
			t.Errorf("a warm-up over the browser's key: %v %v", rtTypes(evs), err)
		}
		c.CloseNow()
	}
}

// TestResponsesWebSocketFollowUpOverBodyLimit: a follow-up of a store:
// false response carries the conversation its connection kept, which may
// pass server.max_body_bytes though the client sent far less; only what
// the client sends is held to the limit (found by audit J: a 40 KB
// follow-up was a 413 under a 64 KiB limit).
func TestResponsesWebSocketFollowUpOverBodyLimit(t *testing.T) {
	s := startEditedTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""), func(c string) string {
		return strings.Replace(c, "server:\n  listen: 127.0.0.1:0\n", "server:\n  listen: 127.0.0.1:0\n  max_body_bytes: 65536\n", 1)
	})
	k := s.newKey("acme", admin.KeyCreate{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(s.base, "http://", "ws://", 1)+"/v1/responses",
		&websocket.DialOptions{HTTPClient: s.hc, HTTPHeader: http.Header{"Authorization": {"Bearer " + k.Secret}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	big := strings.Repeat("word ", 8000) // 40 KB
	// until reads events up to the response's end and returns its last.
	until := func() string {
		t.Helper()
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			switch gjson.GetBytes(data, "type").Str {
			case "response.completed", "response.failed", "error":
				return string(data)
			}
		}
	}
	rtSend(t, ctx, c, `{"type":"response.create","model":"medium","store":false,"input":"`+big+`"}`)
	first := until()
	id := gjson.Get(first, "response.id").Str
	if id == "" {
		t.Fatalf("first: %s", first)
	}
	rtSend(t, ctx, c, `{"type":"response.create","model":"medium","store":false,"previous_response_id":"`+id+`","input":"`+big+`"}`)
	if last := until(); gjson.Get(last, "type").Str != "response.completed" {
		t.Errorf("a 40 KB follow-up of a 40 KB response under a 64 KiB limit: %.300s", last)
	}
}
