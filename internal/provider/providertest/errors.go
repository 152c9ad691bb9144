package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// ErrorCase is an upstream error reply and how the adapter must classify it.
type ErrorCase struct {
	Name       string
	Reply      Reply
	Kind       provider.Kind
	RetryAfter time.Duration
	// Message is a substring the provider.Error's Message must contain.
	Message string
}

// HTTPErrors checks that each case's reply, to Chat and to ChatStream alike,
// is a *provider.Error with the case's kind, the reply's status, the
// retry-after hint and message, and that the error's text holds neither the
// API key nor the prompt.
func HTTPErrors(t *testing.T, a Adapter, cases []ErrorCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			srv, _ := Upstream(t, tt.Reply)
			p := a.New(srv, nil)
			req := &llm.Request{Dialect: p.Dialect(), Raw: []byte(`{"model":"m","messages":[{"role":"user","content":"secret prompt"}]}`)}
			for _, c := range calls() {
				err := c.send(context.Background(), p, req)
				var pe *provider.Error
				if !errors.As(err, &pe) {
					t.Fatalf("%s: got %v, want *provider.Error", c.name, err)
				}
				if pe.Kind != tt.Kind || pe.Status != tt.Reply.Status || pe.RetryAfter != tt.RetryAfter {
					t.Errorf("%s: got kind %v status %d retry-after %v, want %v %d %v", c.name, pe.Kind, pe.Status, pe.RetryAfter, tt.Kind, tt.Reply.Status, tt.RetryAfter)
				}
				if !strings.Contains(pe.Message, tt.Message) {
					t.Errorf("%s: got message %q, want it to contain %q", c.name, pe.Message, tt.Message)
				}
				if s := err.Error(); strings.Contains(s, a.Key) || strings.Contains(s, "secret prompt") {
					t.Errorf("%s: got error %q, want no key or prompt text", c.name, s)
				}
			}
		})
	}
}

// TransportErrors checks, for Chat and ChatStream alike, that a refused
// connection and a connection reset before the response headers are
// KindConnection, and that the request's deadline passing before the headers
// is KindTimeout wrapping context.DeadlineExceeded.
func TransportErrors(t *testing.T, a Adapter) {
	t.Helper()
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close() // nothing listens at its address any more
		p := a.New(srv, nil)
		for _, c := range calls() {
			err := c.send(context.Background(), p, request(p))
			if k := provider.KindOf(err); k != provider.KindConnection {
				t.Errorf("%s: got kind %v (%v), want connection", c.name, k, err)
			}
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
		p := a.New(srv, nil)
		for _, c := range calls() {
			err := c.send(context.Background(), p, request(p))
			if k := provider.KindOf(err); k != provider.KindConnection {
				t.Errorf("%s: got kind %v (%v), want connection", c.name, k, err)
			}
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
		p := a.New(srv, nil)
		for _, c := range calls() {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			err := c.send(ctx, p, request(p))
			cancel()
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Kind != provider.KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: got %v, want a timeout provider error wrapping context.DeadlineExceeded", c.name, err)
			}
		}
	})
}

// request is a minimal request in p's own dialect.
func request(p provider.Provider) *llm.Request {
	return &llm.Request{Dialect: p.Dialect(), Raw: []byte(`{"model":"m","messages":[]}`)}
}

// call is one way of sending a chat request.
type call struct {
	name string
	send func(ctx context.Context, p provider.Provider, req *llm.Request) error
}

// calls are Chat and ChatStream: a failure before the response headers must
// read the same on both.
func calls() []call {
	return []call{
		{"chat", func(ctx context.Context, p provider.Provider, req *llm.Request) error {
			_, err := p.Chat(ctx, req)
			return err
		}},
		{"stream", func(ctx context.Context, p provider.Provider, req *llm.Request) error {
			s, err := p.ChatStream(ctx, req)
			if err == nil {
				_ = s.Close()
			}
			return err
		}},
	}
}

// EchoedHeaderSecrets checks, for Chat and ChatStream alike, that an
// upstream error whose message echoes the request's headers (some servers
// and proxies do) holds none of the deployment's header values: neither a
// credential set as a header on a deployment with no API key (the
// documented way to send a custom one, e.g. Authorization: Bearer …),
// whole or its token alone, nor an extra header sent beside the API key.
func EchoedHeaderSecrets(t *testing.T, a Adapter) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var echo strings.Builder
		for k, vs := range r.Header {
			echo.WriteString(k + ": " + strings.Join(vs, ", ") + "; ")
		}
		msg, _ := json.Marshal("request headers: " + echo.String())
		// The message where each dialect reads it: error.message (OpenAI,
		// Anthropic) and message (Bedrock).
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = fmt.Fprintf(w, `{"type":"error","error":{"type":"rate_limit_error","message":%s},"message":%s}`, msg, msg)
	}))
	defer srv.Close()
	for _, tt := range []struct {
		name    string
		mod     func(*provider.Config)
		secrets []string
	}{
		{"credential headers without api key", func(c *provider.Config) {
			c.APIKey = ""
			c.Headers = map[string]string{"Authorization": "Bearer hdr-bearer-s3cret", "x-api-key": "hdr-xkey-s3cret", "api-key": "hdr-azure-s3cret"}
		}, []string{"hdr-bearer-s3cret", "hdr-xkey-s3cret", "hdr-azure-s3cret"}},
		{"extra header beside api key", func(c *provider.Config) {
			c.Headers = map[string]string{"X-Org-Token": "org-token-s3cret"}
		}, []string{"org-token-s3cret", a.Key}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := a.New(srv, tt.mod)
			for _, c := range calls() {
				err := c.send(context.Background(), p, request(p))
				var pe *provider.Error
				if !errors.As(err, &pe) || pe.Kind != provider.KindRateLimited {
					t.Fatalf("%s: got %v, want a rate-limited *provider.Error", c.name, err)
				}
				if !strings.Contains(pe.Message, "request headers:") {
					t.Fatalf("%s: got message %q, want the echoed headers", c.name, pe.Message)
				}
				for _, s := range tt.secrets {
					if strings.Contains(err.Error(), s) {
						t.Errorf("%s: got error %q, want no %q", c.name, err, s)
					}
				}
			}
		})
	}
}
