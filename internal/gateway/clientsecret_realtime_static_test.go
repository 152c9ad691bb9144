package gateway

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
)

// TestRealtimeStaticKeySecret: a client secret made with a static key
// (server.api_keys) names the key by a tag, not the key itself, and ends
// with the key: once a reload removes it from the config, the secret
// opens no session (401), and a session it opened is refused at its next
// response (an error event, close 1008). A secret of a key still
// configured goes on working.
func TestRealtimeStaticKeySecret(t *testing.T) {
	up := scriptedRealtime(`"response.create"`,
		`{"type":"response.created","response":{"id":"resp_1","status":"in_progress"}}`,
		`{"type":"response.done","response":{"id":"resp_1","status":"completed","usage":{"input_tokens":10,"output_tokens":5}}}`,
	)
	defer up.Close()
	parse := func(keys string) *config.Config {
		t.Helper()
		cfg, err := config.Parse([]byte(`
server: {api_keys: [`+keys+`]}
providers:
  - {name: up, kind: openai, base_url: "`+up.URL+`/v1"}
deployments:
  - {name: voice, provider: up, model: voice-1, capabilities: {chat: false, realtime: true}}
`), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	const removed, kept = "sk-static-removed-1", "sk-static-kept-2"
	cfg := parse(removed + ", " + kept)
	g := New(Options{Executor: executor.New(ExecutorOptions(cfg))})
	if err := g.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	defer g.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	mint := func(key string) string {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/realtime/client_secrets", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		v := gjson.GetBytes(b, "value").Str
		if resp.StatusCode != http.StatusOK || v == "" {
			t.Fatalf("minting with %s: %d %s", key, resp.StatusCode, b)
		}
		payload, _, _ := strings.Cut(strings.TrimPrefix(v, clientSecretPrefix), ".")
		if p, _ := base64.RawURLEncoding.DecodeString(payload); strings.Contains(string(p), key) || gjson.GetBytes(p, "s").Str == "" {
			t.Fatalf("secret payload %s: want the key's tag, not the key", p)
		}
		return v
	}
	dial := func(secret string) (*websocket.Conn, *http.Response, error) {
		return websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/realtime",
			&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + secret}}})
	}
	readTo := func(c *websocket.Conn, last string) []byte {
		t.Helper()
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("reading to %s: %v", last, err)
			}
			if gjson.GetBytes(data, "type").Str == last {
				return data
			}
		}
	}
	gone, still := mint(removed), mint(kept)
	open := func(secret string) *websocket.Conn {
		t.Helper()
		c, _, err := dial(secret)
		if err != nil {
			t.Fatal(err)
		}
		readTo(c, "session.created")
		return c
	}
	running, other := open(gone), open(still)
	defer running.CloseNow()
	defer other.CloseNow()

	if err := g.Apply(parse(kept)); err != nil {
		t.Fatal(err)
	}
	if c, resp, err := dial(gone); err == nil {
		c.CloseNow()
		t.Error("the removed key's secret opened a session")
	} else if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the removed key's secret: %v, want 401", err)
	}

	create := []byte(`{"type":"response.create","event_id":"ev_1"}`)
	if err := running.Write(ctx, websocket.MessageText, create); err != nil {
		t.Fatal(err)
	}
	ev := readTo(running, "error")
	if e := gjson.GetBytes(ev, "error"); e.Get("code").Str != "invalid_api_key" || e.Get("event_id").Str != "ev_1" {
		t.Errorf("error event %s, want invalid_api_key for ev_1", ev)
	}
	if _, _, err := running.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Errorf("session closed with %v, want 1008", err)
	}

	if err := other.Write(ctx, websocket.MessageText, create); err != nil {
		t.Fatal(err)
	}
	readTo(other, "response.done")
	c, _, err := dial(still)
	if err != nil {
		t.Fatalf("the kept key's secret: %v", err)
	}
	c.CloseNow()
}
