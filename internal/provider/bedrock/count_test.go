package bedrock

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

// TestCountTokens: a count goes to the model's count-tokens operation
// with the request's input only (no inference settings), credentialed
// like any call, and its inputTokens is the answer; an answer without
// them is the provider failing.
func TestCountTokens(t *testing.T) {
	var uri, auth string
	var body []byte
	answer := `{"inputTokens":42}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uri, auth = r.RequestURI, r.Header.Get("Authorization")
		body, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	c := newClient(srv, func(cfg *provider.Config) { cfg.MaxOutputTokens = 1000 })
	req := &llm.Request{Model: "route", MaxTokens: 200, Dialect: llm.DialectAnthropic}
	req.SetBody(&llm.Body{System: "be brief", Messages: hiMessages, Temperature: new(0.5)})

	n, err := c.CountTokens(context.Background(), req)
	if err != nil || n != 42 {
		t.Fatalf("CountTokens = %d, %v; want 42", n, err)
	}
	if uri != "/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens" || auth != "Bearer "+testKey {
		t.Errorf("sent to %s with %q", uri, auth)
	}
	want := `{"input":{"converse":{"messages":[{"role":"user","content":[{"text":"hi"}]}],"system":[{"text":"be brief"}]}}}`
	if d := providertest.JSONDiff(t, want, body); d != "" {
		t.Errorf("body (-want +got):\n%s", d)
	}

	answer = `{"tokens":42}`
	if _, err := c.CountTokens(context.Background(), req); provider.KindOf(err) != provider.KindUnavailable {
		t.Errorf("an answer without inputTokens: %v, want unavailable", err)
	}
}
