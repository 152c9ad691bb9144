package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/sim"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// realtimeDeployments serve the Realtime API, priced as gpt-realtime is
// (audio tokens dearer than text).
const realtimeDeployments = `  - name: voice
    provider: sim-openai
    model: sim-realtime
    price: {input_per_mtok: 4, output_per_mtok: 16, cached_input_per_mtok: 0.4, audio_input_per_mtok: 32, audio_output_per_mtok: 64}
    capabilities: {chat: false, realtime: true}
routes:
`

// rtEvent is the part of a Realtime API event the tests read.
type rtEvent struct {
	Type     string `json:"type"`
	Delta    string `json:"delta"`
	Text     string `json:"text"`
	Response struct {
		Status string `json:"status"`
		Usage  struct {
			InputTokens       int `json:"input_tokens"`
			OutputTokens      int `json:"output_tokens"`
			InputTokenDetails struct {
				CachedTokens int `json:"cached_tokens"`
				AudioTokens  int `json:"audio_tokens"`
			} `json:"input_token_details"`
			OutputTokenDetails struct {
				AudioTokens int `json:"audio_tokens"`
			} `json:"output_token_details"`
		} `json:"usage"`
	} `json:"response"`
	Error struct {
		Type, Code, Message string
	} `json:"error"`
	Session struct {
		Instructions string `json:"instructions"`
	} `json:"session"`
}

// rtDial opens a Realtime session through the gateway at base.
func rtDial(ctx context.Context, base, query string, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
	c, resp, err := websocket.Dial(ctx, strings.Replace(base, "http://", "ws://", 1)+"/v1/realtime?"+query, opts)
	if c != nil {
		c.SetReadLimit(32 << 20)
	}
	return c, resp, err
}

// rtSend sends one client event.
func rtSend(t *testing.T, ctx context.Context, c *websocket.Conn, ev string) {
	t.Helper()
	if err := c.Write(ctx, websocket.MessageText, []byte(ev)); err != nil {
		t.Fatalf("send %s: %v", ev, err)
	}
}

// rtUntil reads events until one of type last (included), or an error.
func rtUntil(ctx context.Context, c *websocket.Conn, last string) ([]rtEvent, error) {
	var out []rtEvent
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return out, err
		}
		var ev rtEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			return out, err
		}
		out = append(out, ev)
		if ev.Type == last {
			return out, nil
		}
	}
}

// rtTypes lists the events' types, for messages.
func rtTypes(evs []rtEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
		if ev.Type == "error" {
			out[i] += "(" + ev.Error.Code + ")"
		}
	}
	return out
}

// rtTurn asks one question in modality and reads the answer to its
// response.done: the text deltas joined, and the done event.
func rtTurn(t *testing.T, ctx context.Context, c *websocket.Conn, question, modality string) (string, rtEvent) {
	t.Helper()
	rtSend(t, ctx, c, `{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"`+question+`"}]}}`)
	rtSend(t, ctx, c, `{"type":"response.create","response":{"output_modalities":["`+modality+`"]}}`)
	evs, err := rtUntil(ctx, c, "response.done")
	if err != nil {
		t.Fatalf("%s turn: %v after %d events", modality, err, len(evs))
	}
	var text strings.Builder
	for _, ev := range evs {
		if ev.Type == "response.output_text.delta" || ev.Type == "response.output_audio_transcript.delta" {
			text.WriteString(ev.Delta)
		}
	}
	return text.String(), evs[len(evs)-1]
}

// TestRealtime: a Realtime API session through the gateway. Refusals come
// before the WebSocket as HTTP errors in OpenAI's format (a page of an
// origin not allowed among them); a handshake the
// upstream refuses is retried; events pass both ways unchanged; each
// response's usage is priced (audio tokens at the audio prices) into the
// session's one usage record; an upstream that breaks mid-response is
// reported to the client as an error event and close code 1011, and the
// record is partial; shutdown ends open sessions with 1001 after
// recording them.
func TestRealtime(t *testing.T) {
	simCfg := withFaults(fastSim(), "sim-realtime", sim.Fault{Type: sim.FaultStatus, Status: 503, Times: 1})
	cfg := strings.Replace(baseConfig, "routes:\n", realtimeDeployments, 1)
	cfg = strings.Replace(cfg, "  listen: 127.0.0.1:0\n", "  listen: 127.0.0.1:0\n  websocket_origins: [app.example.com]\n", 1)
	cfg = strings.Replace(cfg, "routes:\n", "  - {name: voice-b, provider: sim-openai, model: sim-realtime, capabilities: {chat: false, realtime: true}}\nroutes:\n", 1)
	s := startStack(t, simCfg, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Not a WebSocket: 426 in OpenAI's error format.
	resp, body := getBody(t, s.hc, s.base+"/v1/realtime?model=voice")
	if resp.StatusCode != http.StatusUpgradeRequired || !strings.Contains(body, `"code":"websocket_required"`) {
		t.Errorf("plain GET: %d %s", resp.StatusCode, body)
	}
	// An unknown model, and a deployment without the capability: refused
	// before the upgrade.
	for q, want := range map[string]int{"model=nope": 404, "model=small": 400} {
		_, hr, err := rtDial(ctx, s.base, q, nil)
		if err == nil || hr == nil || hr.StatusCode != want {
			t.Errorf("%s: %v %v, want HTTP %d", q, hr, err, want)
			continue
		}
		b, _ := io.ReadAll(hr.Body)
		if !strings.Contains(string(b), `"error":{`) {
			t.Errorf("%s: body %s is not an OpenAI error", q, b)
		}
	}

	// A page of another origin is refused before any upstream is dialled,
	// unless server.websocket_origins names it.
	_, hr, err := rtDial(ctx, s.base, "model=voice", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	if err == nil || hr == nil || hr.StatusCode != http.StatusForbidden {
		t.Fatalf("another origin: %v %v, want 403", hr, err)
	}
	if b, _ := io.ReadAll(hr.Body); !strings.Contains(string(b), "origin_not_allowed") || len(s.sim.Calls("sim-realtime")) != 0 {
		t.Errorf("another origin: %s, %d upstream handshakes", b, len(s.sim.Calls("sim-realtime")))
	}
	c, hr, err := rtDial(ctx, s.base, "model=voice", &websocket.DialOptions{Subprotocols: []string{"realtime"}, HTTPHeader: http.Header{"Origin": {"https://app.example.com"}}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	id := hr.Header.Get("X-Request-Id")
	if c.Subprotocol() != "realtime" || hr.Header.Get("X-Switchyard-Deployment") != "voice" || id == "" {
		t.Errorf("handshake: subprotocol %q, headers %v", c.Subprotocol(), hr.Header)
	}
	if n := len(s.sim.Calls("sim-realtime")); n != 2 {
		t.Errorf("sim saw %d handshakes, want 2 (the refused one, then the retry)", n)
	}
	if evs, err := rtUntil(ctx, c, "session.created"); err != nil || len(evs) != 1 {
		t.Fatalf("first event: %v %v", rtTypes(evs), err)
	}
	text, done := rtTurn(t, ctx, c, "Say hello in one word.", "text")
	if done.Response.Status != "completed" || text == "" || done.Response.Usage.InputTokens == 0 || done.Response.Usage.OutputTokens == 0 {
		t.Fatalf("text turn: %q %+v", text, done.Response)
	}
	_, done2 := rtTurn(t, ctx, c, "Now say it aloud.", "audio")
	if done2.Response.Usage.OutputTokenDetails.AudioTokens == 0 {
		t.Fatalf("audio turn reported no audio tokens: %+v", done2.Response)
	}
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Errorf("close: %v", err)
	}

	var in, out, cached int
	var want float64
	for _, d := range []rtEvent{done, done2} {
		u := d.Response.Usage
		in, out, cached = in+u.InputTokens, out+u.OutputTokens, cached+u.InputTokenDetails.CachedTokens
		audioIn, audioOut := u.InputTokenDetails.AudioTokens, u.OutputTokenDetails.AudioTokens
		want += (float64(u.InputTokens-u.InputTokenDetails.CachedTokens-audioIn)*4 + float64(u.InputTokenDetails.CachedTokens)*0.4 + float64(audioIn)*32 +
			float64(u.OutputTokens-audioOut)*16 + float64(audioOut)*64) / 1e6
	}
	line := s.requestLog(id)
	if line["status"] != float64(200) || line["stream"] != true || line["partial"] != false || line["deployment"] != "voice" ||
		line["input_tokens"] != float64(in) || line["output_tokens"] != float64(out) || line["attempts"] != float64(2) {
		t.Errorf("session's request log: %v (want %d in, %d out)", line, in, out)
	}
	if got, _ := line["cost_usd"].(float64); math.Abs(got-want) > 1e-12 {
		t.Errorf("session cost %v, want %v", got, want)
	}

	// An Azure client names the deployment instead of the model.
	if c, hr, err := rtDial(ctx, s.base, "deployment=voice-b&api-version=2025-08-28", nil); err != nil || hr.Header.Get("X-Switchyard-Deployment") != "voice-b" {
		t.Errorf("azure-style dial: %v, headers %v", err, hr.Header)
	} else {
		c.Close(websocket.StatusNormalClosure, "")
	}

	// The upstream breaks mid-response: an error event, then 1011.
	s.sim.SetConfig(withFaults(fastSim(), "sim-realtime", sim.Fault{Type: sim.FaultCut}))
	c, hr, err = rtDial(ctx, s.base, "model=voice", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	rtSend(t, ctx, c, `{"type":"response.create"}`)
	evs, err := rtUntil(ctx, c, "error")
	if err != nil || evs[len(evs)-1].Error.Code != "upstream_disconnected" {
		t.Fatalf("cut session: %v, events %v", err, rtTypes(evs))
	}
	for _, ev := range evs {
		if ev.Type == "response.done" {
			t.Error("a cut response ended with response.done")
		}
	}
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusInternalError {
		t.Errorf("cut session closed with %v, want 1011", err)
	}
	line = s.requestLog(hr.Header.Get("X-Request-Id"))
	var cutText int
	for _, ev := range evs {
		if ev.Type == "response.output_audio_transcript.delta" || ev.Type == "response.output_text.delta" {
			cutText += len(ev.Delta)
		}
	}
	if line["partial"] != true || line["error"] != "unavailable" || line["tokens_estimated"] != true || line["output_tokens"] != float64((cutText+3)/4) || cutText == 0 {
		t.Errorf("cut session's request log: %v (want the %d bytes passed on as estimated output)", line, cutText)
	}

	// Shutdown ends an open session with 1001, and records it first.
	s.sim.SetConfig(fastSim())
	c, hr, err = rtDial(ctx, s.base, "model=voice", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if _, err := rtUntil(ctx, c, "session.created"); err != nil {
		t.Fatal(err)
	}
	if _, metrics := getBody(t, s.hc, s.base+"/metrics"); !strings.Contains(metrics, "\nswitchyard_realtime_sessions 1\n") {
		t.Errorf("metrics do not count the open session")
	}
	closed := make(chan error, 1)
	go func() { _, _, err := c.Read(ctx); closed <- err }() // reading answers the close
	s.stop()
	if err := <-closed; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("at shutdown the session closed with %v, want 1001", err)
	}
	// Its usage record reached the store before the ledger stopped.
	st := storeOf(t, "store: sqlite://"+filepath.Join(filepath.Dir(s.cfg), "switchyard.db"))
	found := false
	for _, r := range usageRecords(t, st) {
		found = found || r.RequestID == hr.Header.Get("X-Request-Id") && r.Status == 200 && r.Stream
	}
	if !found {
		t.Errorf("the session ended by shutdown has no usage record")
	}
}

// getBody GETs u and reads the body.
func getBody(t *testing.T, hc *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestRealtimeKeysAndBudgets: a browser's key in the
// openai-insecure-api-key subprotocol authenticates (and is never chosen
// as the protocol); a wrong key is a 401 before the upgrade; each
// response is charged to the key's budget as it ends, and the response
// that overdraws it is passed on, then an error event and close code 1008
// end the session; a new session is then refused with 429.
func TestRealtimeKeysAndBudgets(t *testing.T) {
	s := startEditedTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""), func(c string) string {
		return strings.Replace(c, "routes:\n", realtimeDeployments, 1)
	})
	k := s.newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{BudgetDailyUSD: 0.00001}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	_, hr, err := rtDial(ctx, s.base, "model=voice", &websocket.DialOptions{Subprotocols: []string{"realtime", "openai-insecure-api-key.sk-wrong"}})
	if err == nil || hr == nil || hr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong key: %v %v, want 401", hr, err)
	}
	c, hr, err := rtDial(ctx, s.base, "model=voice", &websocket.DialOptions{Subprotocols: []string{"realtime", "openai-insecure-api-key." + k.Secret}})
	if err != nil {
		t.Fatalf("key in subprotocol: %v", err)
	}
	if c.Subprotocol() != "realtime" {
		t.Errorf("chosen subprotocol %q", c.Subprotocol())
	}
	if _, err := rtUntil(ctx, c, "session.created"); err != nil {
		t.Fatal(err)
	}
	rtSend(t, ctx, c, `{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"Tell me a long story."}]}}`)
	rtSend(t, ctx, c, `{"type":"response.create"}`)
	evs, err := rtUntil(ctx, c, "error")
	if err != nil || len(evs) < 2 || evs[len(evs)-2].Type != "response.done" || evs[len(evs)-1].Error.Code != "budget_exceeded" {
		t.Fatalf("overdrawn session: %v, events %v", err, rtTypes(evs))
	}
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Errorf("overdrawn session closed with %v, want 1008", err)
	}
	var rec struct {
		CostUSD float64 `json:"cost_usd"`
	}
	id := hr.Header.Get("X-Request-Id")
	waitForT(t, "the session's usage record", func() bool {
		r, ok := s.exportUsage()[id]
		rec.CostUSD = r.CostUSD
		return ok
	}, func() string { return "none" })
	if rec.CostUSD <= 0.00001 {
		t.Errorf("recorded cost %v, want the response's cost, over the budget", rec.CostUSD)
	}
	_, hr, err = rtDial(ctx, s.base, "model=voice", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + k.Secret}}})
	if err == nil || hr == nil || hr.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("over budget: %v %v, want 429", hr, err)
	}
	if b, _ := io.ReadAll(hr.Body); !strings.Contains(string(b), "budget_exceeded") {
		t.Errorf("over budget: %s", b)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
}

// TestRealtimeClientSecrets: a server mints a client secret with its key
// (POST /v1/realtime/client_secrets) and a browser opens a session with it
// in the key subprotocol: the session is the minting key's (its usage
// record names the key), the settings given with the secret reach the
// upstream as a session.update, and the secret names its model. A
// tampered secret is a 401; a secret is no key anywhere else; a revoked
// key's secrets open nothing.
func TestRealtimeClientSecrets(t *testing.T) {
	s := startEditedTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""), func(c string) string {
		return strings.Replace(c, "routes:\n", realtimeDeployments, 1)
	})
	k := s.newKey("acme", admin.KeyCreate{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	req, _ := http.NewRequest("POST", s.base+"/v1/realtime/client_secrets",
		strings.NewReader(`{"expires_after":{"anchor":"created_at","seconds":120},"session":{"type":"realtime","model":"voice","instructions":"Answer like a train guard."}}`))
	req.Header.Set("Authorization", "Bearer "+k.Secret)
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var minted struct {
		Value     string `json:"value"`
		ExpiresAt int64  `json:"expires_at"`
		Session   struct {
			Model, Instructions string
		} `json:"session"`
	}
	err = json.NewDecoder(resp.Body).Decode(&minted)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(minted.Value, "ek_") || minted.Session.Model != "voice" ||
		minted.Session.Instructions != "Answer like a train guard." || minted.ExpiresAt-time.Now().Unix() > 120 || minted.ExpiresAt-time.Now().Unix() < 100 {
		t.Fatalf("mint: %d %+v %v", resp.StatusCode, minted, err)
	}
	if strings.Contains(minted.Value, k.Secret) {
		t.Fatal("the client secret holds the key")
	}

	c, hr, err := rtDial(ctx, s.base, "model=voice", &websocket.DialOptions{Subprotocols: []string{"realtime", "openai-insecure-api-key." + minted.Value}})
	if err != nil {
		t.Fatalf("dial with the client secret: %v", err)
	}
	// The session is created with the secret's settings: one
	// session.created carries them, and the session.updated that answered
	// the gateway's session.update is not the client's to see.
	evs, err := rtUntil(ctx, c, "session.created")
	if err != nil || len(evs) != 1 || evs[0].Session.Instructions != "Answer like a train guard." {
		t.Fatalf("events %v: %v (want one session.created with the secret's settings)", rtTypes(evs), err)
	}
	rtSend(t, ctx, c, `{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"Is this the train to the coast?"}]}}`)
	rtSend(t, ctx, c, `{"type":"response.create","response":{"output_modalities":["text"]}}`)
	if evs, err = rtUntil(ctx, c, "response.done"); err != nil || slices.ContainsFunc(evs, func(ev rtEvent) bool { return ev.Type == "session.updated" }) {
		t.Fatalf("turn: %v: %v", rtTypes(evs), err)
	}
	done := evs[len(evs)-1]
	c.Close(websocket.StatusNormalClosure, "")
	id := hr.Header.Get("X-Request-Id")
	waitForT(t, "the session's usage record", func() bool { _, ok := s.exportUsage()[id]; return ok }, func() string { return "none" })
	if r := s.exportUsage()[id]; r.KeyID != k.ID || r.TenantID != "acme" || r.OutputTokens != done.Response.Usage.OutputTokens {
		t.Errorf("session record: %+v", r)
	}

	// The secret names its model; a tampered secret, or the secret used as
	// a key elsewhere, is refused.
	if _, hr, err := rtDial(ctx, s.base, "model=other", &websocket.DialOptions{Subprotocols: []string{"realtime", "openai-insecure-api-key." + minted.Value}}); err == nil || hr == nil || hr.StatusCode != 400 {
		t.Errorf("another model: %v %v, want 400", hr, err)
	}
	tampered := minted.Value[:len(minted.Value)-2] + "xx"
	if _, hr, err := rtDial(ctx, s.base, "model=voice", &websocket.DialOptions{Subprotocols: []string{"realtime", "openai-insecure-api-key." + tampered}}); err == nil || hr == nil || hr.StatusCode != 401 {
		t.Errorf("tampered secret: %v %v, want 401", hr, err)
	}
	if code, b, _ := chat(s.hc, s.base, minted.Value, `{"model":"auto","messages":[{"role":"user","content":"hi"}]}`); code != 401 {
		t.Errorf("the secret as a chat key: %d %s, want 401", code, b)
	}
	if code := s.adminDo("POST", "/admin/keys/"+k.ID+"/revoke", nil, nil); code != 200 && code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	waitForT(t, "the revoked key's secret to be refused", func() bool {
		_, hr, err := rtDial(ctx, s.base, "model=voice", &websocket.DialOptions{Subprotocols: []string{"realtime", "openai-insecure-api-key." + minted.Value}})
		return err != nil && hr != nil && hr.StatusCode == 401
	}, func() string { return "still accepted" })
}
