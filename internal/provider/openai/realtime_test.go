package openai

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchyard-gw/switchyard/internal/provider"
)

// TestDialRealtime: the session is dialled at the deployment's URL layout
// with its model and credential, the client's other query parameters and
// beta header; a refused handshake is classified like a failed call, with
// the key never in the error.
func TestDialRealtime(t *testing.T) {
	type seen struct {
		path  string
		query url.Values
		auth  string
		key   string
		beta  string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.URL.Path, r.URL.Query(), r.Header.Get("Authorization"), r.Header.Get("api-key"), r.Header.Get("OpenAI-Beta")}
		if r.URL.Query().Get("refuse") != "" {
			w.Header().Set("Retry-After", "3")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":{"message":"slow down, key ` + testKey + `","type":"rate_limit_error","code":"rate_limit_exceeded"}}`))
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"type":"session.created"}`))
		c.Close(websocket.StatusNormalClosure, "")
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	query := url.Values{"model": {"client-model"}, "intent": {"transcription"}}

	conn, err := newClient(srv, nil).DialRealtime(ctx, &provider.RealtimeRequest{Query: query, Beta: "realtime=v1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, first, err := conn.Read(ctx); err != nil || string(first) != `{"type":"session.created"}` {
		t.Errorf("first frame %s: %v", first, err)
	}
	conn.CloseNow()
	s := <-got
	if s.path != "/v1/realtime" || s.query.Get("model") != "gpt-4o-mini" || s.query.Get("intent") != "transcription" || s.auth != "Bearer "+testKey || s.beta != "realtime=v1" {
		t.Errorf("openai dial: %+v", s)
	}

	azure := func(c *provider.Config) { c.Azure, c.BaseURL, c.Model = true, srv.URL, "my-deployment" }
	conn, err = newClient(srv, azure).DialRealtime(ctx, &provider.RealtimeRequest{Query: url.Values{"deployment": {"x"}, "api-version": {"1"}}})
	if err != nil {
		t.Fatal(err)
	}
	conn.CloseNow()
	s = <-got
	if s.path != "/openai/v1/realtime" || s.query.Get("model") != "my-deployment" || s.query.Has("deployment") || s.query.Has("api-version") || s.key != testKey || s.auth != "" {
		t.Errorf("azure dial: %+v", s)
	}

	_, err = newClient(srv, nil).DialRealtime(ctx, &provider.RealtimeRequest{Query: url.Values{"refuse": {"1"}}})
	<-got
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Kind != provider.KindRateLimited || pe.Status != 429 || pe.RetryAfter != 3*time.Second {
		t.Fatalf("refused handshake: %#v", err)
	}
	if msg := err.Error(); len(msg) == 0 || strings.Contains(msg, testKey) {
		t.Errorf("refused handshake's error %q shows the key", msg)
	}
}
