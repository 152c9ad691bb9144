package anthropic

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

func TestHTTPErrorClassification(t *testing.T) {
	tests := []struct {
		name      string
		reply     providertest.Reply
		wantKind  provider.Kind
		wantAfter time.Duration
		wantMsg   string
	}{
		{"429 retry-after seconds", providertest.Reply{Status: 429, Header: map[string]string{"retry-after": "7"}, Fixture: "error_rate_limit.json"},
			provider.KindRateLimited, 7 * time.Second, "exceed the rate limit"},
		{"429 retry-after-ms", providertest.Reply{Status: 429, Header: map[string]string{"retry-after-ms": "1500"}, Fixture: "error_rate_limit.json"},
			provider.KindRateLimited, 1500 * time.Millisecond, ""},
		{"429 retry-after date", providertest.Reply{Status: 429, Header: map[string]string{"Retry-After": "Wed, 01 Jan 2025 00:01:00 GMT"}, Fixture: "error_rate_limit.json"},
			provider.KindRateLimited, time.Minute, ""},
		{"529 overloaded", providertest.Reply{Status: 529, Fixture: "error_overloaded.json"}, provider.KindUnavailable, 0, "Overloaded"},
		{"500", providertest.Reply{Status: 500, Body: `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`}, provider.KindUnavailable, 0, "Internal server error"},
		{"502 html", providertest.Reply{Status: 502, Body: "<html>bad gateway</html>"}, provider.KindUnavailable, 0, "Bad Gateway"},
		{"503", providertest.Reply{Status: 503, Body: ""}, provider.KindUnavailable, 0, "Service Unavailable"},
		{"401", providertest.Reply{Status: 401, Fixture: "error_auth.json"}, provider.KindAuth, 0, "invalid x-api-key"},
		{"403", providertest.Reply{Status: 403, Body: `{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."}}`}, provider.KindAuth, 0, ""},
		{"408", providertest.Reply{Status: 408, Body: ""}, provider.KindTimeout, 0, ""},
		{"504", providertest.Reply{Status: 504, Body: `{"type":"error","error":{"type":"timeout_error","message":"Request timed out"}}`}, provider.KindTimeout, 0, "Request timed out"},
		{"400 prompt too long", providertest.Reply{Status: 400, Fixture: "error_prompt_too_long.json"}, provider.KindContextLength, 0, "prompt is too long"},
		{"400 input and max_tokens exceed context", providertest.Reply{Status: 400, Fixture: "error_context_max_tokens.json"}, provider.KindContextLength, 0, "exceed context limit"},
		{"413 exceeds the context window", providertest.Reply{Status: 413, Body: `{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the context window"}}`}, provider.KindContextLength, 0, ""},
		{"400 content policy", providertest.Reply{Status: 400, Fixture: "error_policy.json"}, provider.KindContentRejected, 0, "content filtering policy"},
		{"400 credit balance", providertest.Reply{Status: 400, Fixture: "error_billing.json"}, provider.KindQuota, 0, "credit balance"},
		{"400 other", providertest.Reply{Status: 400, Fixture: "error_invalid.json"}, provider.KindBadRequest, 0, "unexpected tool_use_id"},
		{"404", providertest.Reply{Status: 404, Body: `{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"}}`}, provider.KindNotFound, 0, "model: claude-x"},
		{"404 wrong path", providertest.Reply{Status: 404, Body: "404 page not found"}, provider.KindNotFound, 0, "Not Found"},
		{"key echoed is redacted", providertest.Reply{Status: 401, Body: `{"type":"error","error":{"type":"authentication_error","message":"bad key sk-ant-test-s3cret"}}`},
			provider.KindAuth, 0, "bad key [redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := providertest.Upstream(t, tt.reply)
			req := &llm.Request{Dialect: llm.DialectAnthropic, Raw: []byte(`{"model":"m","messages":[{"role":"user","content":"secret prompt"}]}`)}
			for _, call := range []string{"chat", "stream"} {
				var err error
				if call == "chat" {
					_, err = newClient(srv, nil).Chat(context.Background(), req)
				} else {
					_, err = newClient(srv, nil).ChatStream(context.Background(), req)
				}
				var pe *provider.Error
				if !errors.As(err, &pe) {
					t.Fatalf("%s: got %v, want *provider.Error", call, err)
				}
				if pe.Kind != tt.wantKind || pe.Status != tt.reply.Status || pe.RetryAfter != tt.wantAfter {
					t.Errorf("%s: got kind %v status %d retry-after %v, want %v %d %v", call, pe.Kind, pe.Status, pe.RetryAfter, tt.wantKind, tt.reply.Status, tt.wantAfter)
				}
				if !strings.Contains(pe.Message, tt.wantMsg) {
					t.Errorf("%s: got message %q, want it to contain %q", call, pe.Message, tt.wantMsg)
				}
				if s := err.Error(); strings.Contains(s, testKey) || strings.Contains(s, "secret prompt") {
					t.Errorf("%s: got error %q, want no key or prompt text", call, s)
				}
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	req := &llm.Request{Dialect: llm.DialectAnthropic, Raw: []byte(`{"model":"m"}`)}

	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c := New(provider.Config{BaseURL: "http://" + addr, HTTPClient: &http.Client{Transport: &http.Transport{}}})
		_, err = c.ChatStream(context.Background(), req)
		if k := provider.KindOf(err); k != provider.KindConnection {
			t.Errorf("got kind %v (%v), want connection", k, err)
		}
	})

	t.Run("reset before headers", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}))
		defer srv.Close()
		_, err := newClient(srv, nil).Chat(context.Background(), req)
		if k := provider.KindOf(err); k != provider.KindConnection {
			t.Errorf("got kind %v (%v), want connection", k, err)
		}
	})

	t.Run("deadline", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := newClient(srv, nil).ChatStream(ctx, req)
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Kind != provider.KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want a timeout provider error wrapping context.DeadlineExceeded", err)
		}
	})
}
