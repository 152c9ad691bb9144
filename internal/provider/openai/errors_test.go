package openai

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
		{"429 retry-after seconds", providertest.Reply{Status: 429, Header: map[string]string{"Retry-After": "2"}, Fixture: "error_rate_limit.json"},
			provider.KindRateLimited, 2 * time.Second, "Rate limit reached for gpt-4o-mini"},
		{"429 retry-after-ms wins", providertest.Reply{Status: 429, Header: map[string]string{"Retry-After": "2", "retry-after-ms": "300"}, Fixture: "error_rate_limit.json"},
			provider.KindRateLimited, 300 * time.Millisecond, ""},
		{"429 retry-after date", providertest.Reply{Status: 429, Header: map[string]string{"Retry-After": "Wed, 01 Jan 2025 00:00:05 GMT"}, Fixture: "error_rate_limit.json"},
			provider.KindRateLimited, 5 * time.Second, ""},
		{"429 without hint", providertest.Reply{Status: 429, Fixture: "error_rate_limit.json"}, provider.KindRateLimited, 0, ""},
		{"429 insufficient_quota", providertest.Reply{Status: 429, Fixture: "error_quota.json"}, provider.KindQuota, 0, "You exceeded your current quota"},
		{"401", providertest.Reply{Status: 401, Fixture: "error_auth.json"}, provider.KindAuth, 0, "Incorrect API key provided: [redacted]."},
		{"403", providertest.Reply{Status: 403, Body: `{"error":{"message":"Country not supported","type":"request_forbidden","code":"unsupported_country_region_territory"}}`},
			provider.KindAuth, 0, "Country not supported"},
		{"408", providertest.Reply{Status: 408, Body: "timeout"}, provider.KindTimeout, 0, "Request Timeout"},
		{"504 html", providertest.Reply{Status: 504, Body: "<html>gateway timeout</html>"}, provider.KindTimeout, 0, "Gateway Timeout"},
		{"500", providertest.Reply{Status: 500, Fixture: "error_server.json"}, provider.KindUnavailable, 0, "The server is overloaded or not ready yet."},
		{"502", providertest.Reply{Status: 502, Body: "bad gateway"}, provider.KindUnavailable, 0, "Bad Gateway"},
		{"503", providertest.Reply{Status: 503, Fixture: "error_server.json"}, provider.KindUnavailable, 0, ""},
		{"529", providertest.Reply{Status: 529, Body: `{"error":{"message":"Overloaded","type":"overloaded_error"}}`}, provider.KindUnavailable, 0, "Overloaded"},
		{"400 context length", providertest.Reply{Status: 400, Fixture: "error_context_length.json"}, provider.KindContextLength, 0, "This model's maximum context length is 128000 tokens."},
		{"413 context length by message", providertest.Reply{Status: 413, Body: `{"error":{"message":"input exceeds the context window of this model"}}`}, provider.KindContextLength, 0, ""},
		{"400 azure content filter", providertest.Reply{Status: 400, Fixture: "error_content_filter.json"}, provider.KindContentRejected, 0, "content management policy"},
		{"400 content policy violation", providertest.Reply{Status: 400, Body: `{"error":{"message":"Your request was rejected as a result of our safety system.","type":"invalid_request_error","code":"content_policy_violation"}}`},
			provider.KindContentRejected, 0, ""},
		{"400 other", providertest.Reply{Status: 400, Fixture: "error_bad_request.json"}, provider.KindBadRequest, 0, "Invalid value for 'temperature'"},
		{"404 model_not_found", providertest.Reply{Status: 404, Body: `{"error":{"message":"The model does not exist","type":"invalid_request_error","code":"model_not_found"}}`}, provider.KindNotFound, 0, "The model does not exist"},
		{"404 azure deployment", providertest.Reply{Status: 404, Body: `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}`}, provider.KindNotFound, 0, "deployment for this resource"},
		{"404 wrong path", providertest.Reply{Status: 404, Body: "404 page not found"}, provider.KindNotFound, 0, "Not Found"},
		{"400 model_not_found", providertest.Reply{Status: 400, Body: `{"error":{"message":"The model does not exist","type":"invalid_request_error","code":"model_not_found"}}`}, provider.KindNotFound, 0, ""},
		{"422", providertest.Reply{Status: 422, Body: `{"error":"unprocessable"}`}, provider.KindBadRequest, 0, "unprocessable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := providertest.Upstream(t, tt.reply)
			req := &llm.Request{Dialect: llm.DialectOpenAI, Raw: []byte(`{"model":"m","messages":[{"role":"user","content":"secret prompt"}]}`)}
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
	req := &llm.Request{Dialect: llm.DialectOpenAI, Raw: []byte(`{"model":"m","messages":[]}`)}

	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c := New(provider.Config{BaseURL: "http://" + addr, HTTPClient: &http.Client{Transport: &http.Transport{}}})
		_, err = c.Chat(context.Background(), req)
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
		_, err := newClient(srv, nil).ChatStream(context.Background(), req)
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
		_, err := newClient(srv, nil).Chat(ctx, req)
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Kind != provider.KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want a timeout provider error wrapping context.DeadlineExceeded", err)
		}
	})
}
