package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/sse"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"nil header", nil, 0},
		{"none", http.Header{}, 0},
		{"seconds", http.Header{"Retry-After": {" 2 "}}, 2 * time.Second},
		{"fractional seconds", http.Header{"Retry-After": {"0.5"}}, 500 * time.Millisecond},
		{"zero seconds", http.Header{"Retry-After": {"0"}}, 0},
		{"milliseconds win", http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"9"}}, 250 * time.Millisecond},
		{"bad milliseconds fall back", http.Header{"Retry-After-Ms": {"x"}, "Retry-After": {"3"}}, 3 * time.Second},
		{"http date", http.Header{"Retry-After": {now.Add(7 * time.Second).Format(http.TimeFormat)}}, 7 * time.Second},
		{"past http date", http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
		// Past what a Duration holds, or years away: a year at most,
		// never a wrapped negative (found by audit AF).
		{"huge seconds", http.Header{"Retry-After": {"1e30"}}, MaxRetryHint},
		{"seconds past a Duration", http.Header{"Retry-After": {"9223372037"}}, MaxRetryHint},
		{"huge milliseconds", http.Header{"Retry-After-Ms": {"1e300"}}, MaxRetryHint},
		{"far http date", http.Header{"Retry-After": {"Fri, 31 Dec 9999 23:59:59 GMT"}}, MaxRetryHint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RetryAfter(tt.h, now); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		status int
		sig    Signals
		want   Kind
	}{
		{"quota beats 429", 429, Signals{Quota: true}, KindQuota},
		{"429", 429, Signals{}, KindRateLimited},
		{"rate limit marker in stream", 0, Signals{RateLimited: true}, KindRateLimited},
		{"401", 401, Signals{}, KindAuth},
		{"403", 403, Signals{}, KindAuth},
		{"408", 408, Signals{}, KindTimeout},
		{"504", 504, Signals{}, KindTimeout},
		{"timeout marker", 0, Signals{Timeout: true}, KindTimeout},
		{"500", 500, Signals{ContextLength: true}, KindUnavailable},
		{"overloaded marker", 0, Signals{Unavailable: true}, KindUnavailable},
		{"context length", 400, Signals{ContextLength: true, ContentRejected: true}, KindContextLength},
		{"content rejected", 400, Signals{ContentRejected: true}, KindContentRejected},
		{"404", 404, Signals{}, KindNotFound},
		{"not found marker in stream", 0, Signals{NotFound: true}, KindNotFound},
		{"not found marker on a 400", 400, Signals{NotFound: true}, KindNotFound},
		{"404 with an auth marker is auth", 404, Signals{Auth: true}, KindAuth},
		{"other 4xx", 422, Signals{}, KindBadRequest},
		{"nothing to go on", 0, Signals{}, KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.status, tt.sig); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestKindPolicy pins what the executor does with each kind: an upstream
// 404 is the deployment's fault (counts against it, fails over) but is not
// worth a retry on the same deployment.
func TestKindPolicy(t *testing.T) {
	tests := []struct {
		kind                                   Kind
		name                                   string
		retryable, fallbackable, requestCaused bool
	}{
		{KindUnavailable, "unavailable", true, true, false},
		{KindTimeout, "timeout", false, true, false},
		{KindBadRequest, "bad_request", false, false, true},
		{KindContentRejected, "content_rejected", false, false, true},
		{KindAuth, "upstream_auth", false, true, false},
		{KindQuota, "quota_exhausted", false, true, false},
		{KindNotFound, "not_found", false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.kind.String(); got != tt.name {
				t.Errorf("String: got %q, want %q", got, tt.name)
			}
			if got := tt.kind.Retryable(); got != tt.retryable {
				t.Errorf("Retryable: got %v, want %v", got, tt.retryable)
			}
			if got := tt.kind.Fallbackable(); got != tt.fallbackable {
				t.Errorf("Fallbackable: got %v, want %v", got, tt.fallbackable)
			}
			if got := tt.kind.RequestCaused(); got != tt.requestCaused {
				t.Errorf("RequestCaused: got %v, want %v", got, tt.requestCaused)
			}
		})
	}
}

func TestErrorBodyAndRedact(t *testing.T) {
	tests := []struct {
		name                string
		body                string
		typ, code, msg, red string
	}{
		{"object", `{"error":{"type":"t","code":"c","message":"m k3y"}}`, "t", "c", "m k3y", "m [redacted]"},
		{"string", `{"error":"plain k3y k3y"}`, "", "", "plain k3y k3y", "plain [redacted] [redacted]"},
		{"not json", `<html>`, "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, code, msg := ErrorBody([]byte(tt.body))
			if typ != tt.typ || code != tt.code || msg != tt.msg {
				t.Errorf("got %q %q %q, want %q %q %q", typ, code, msg, tt.typ, tt.code, tt.msg)
			}
			if got := Redact(msg, "k3y"); got != tt.red {
				t.Errorf("got %q, want %q", got, tt.red)
			}
			if got := Redact(msg, ""); got != msg {
				t.Errorf("empty secret: got %q, want %q", got, msg)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestSecretsRedact(t *testing.T) {
	s := SecretsOf(Config{
		APIKey:         "sk-key",
		AWSAccessKeyID: "AKIDEXAMPLE",
		Headers: map[string]string{
			"Authorization": "Bearer tok-abc",
			"X-Org":         "tok-abc-longer", // contains another secret: replaced whole
			"X-Flag":        "on",             // too short to be a credential
		},
	})
	for _, tt := range []struct{ in, want string }{
		{"key sk-key", "key [redacted]"},
		{"header Authorization: Bearer tok-abc", "header Authorization: [redacted]"},
		{"invalid token tok-abc", "invalid token [redacted]"},
		{"org tok-abc-longer", "org [redacted]"},
		{"signed by AKIDEXAMPLE", "signed by [redacted]"},
		{"stream is on", "stream is on"},
	} {
		if got := s.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTransportError(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		kind Kind // KindUnknown: a plain context error, no *Error
	}{
		{"deadline", expired, errors.New("x"), KindTimeout},
		{"canceled", canceled, errors.New("x"), KindUnknown},
		{"net timeout", context.Background(), timeoutErr{}, KindTimeout},
		{"refused", context.Background(), errors.New("connection refused"), KindConnection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := TransportError(tt.ctx, tt.err)
			var pe *Error
			if tt.kind == KindUnknown {
				if !errors.Is(err, context.Canceled) || errors.As(err, &pe) {
					t.Fatalf("got %v, want a bare context.Canceled", err)
				}
				return
			}
			if !errors.As(err, &pe) || pe.Kind != tt.kind {
				t.Fatalf("got %v, want kind %v", err, tt.kind)
			}
		})
	}
}

func TestStreamEndErr(t *testing.T) {
	e := StreamEnd{Origin: "x", TooLarge: "too large", Truncated: "cut"}
	reset := errors.New("connection reset")
	tests := []struct {
		name     string
		err      error
		finished bool
		kind     Kind // KindUnknown: no *Error
		msg      string
	}{
		{"deadline", fmt.Errorf("read: %w", context.DeadlineExceeded), true, KindTimeout, "deadline exceeded"},
		{"canceled", context.Canceled, true, KindUnknown, ""},
		{"frame too large", sse.ErrFrameTooLarge, true, KindUnavailable, "too large"},
		{"finished", io.EOF, true, KindUnknown, ""},
		{"finished then reset", reset, true, KindUnknown, ""},
		{"clean eof unfinished", io.EOF, false, KindUnavailable, "cut"},
		{"reset unfinished", reset, false, KindUnavailable, "cut"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.Err(tt.err, tt.finished)
			var pe *Error
			if tt.kind == KindUnknown {
				if errors.As(err, &pe) {
					t.Fatalf("got %v, want no provider error", err)
				}
				if tt.finished && !errors.Is(tt.err, context.Canceled) && err != io.EOF {
					t.Fatalf("got %v, want io.EOF", err)
				}
				return
			}
			if !errors.As(err, &pe) || pe.Kind != tt.kind || pe.Message != tt.msg {
				t.Fatalf("got %v, want kind %v message %q", err, tt.kind, tt.msg)
			}
			if tt.msg == "cut" {
				if !errors.Is(err, ErrStreamTruncated) {
					t.Errorf("got %v, want it to wrap ErrStreamTruncated", err)
				}
				if errors.Is(err, io.EOF) {
					t.Errorf("got %v, want no io.EOF in the chain", err)
				}
			}
		})
	}
}

// TestReadBodyUpTo: a body within the limit is read whole; one byte over
// is the provider failing, never a cut body passed on as the answer.
func TestReadBodyUpTo(t *testing.T) {
	for _, tt := range []struct {
		size int
		ok   bool
	}{{0, true}, {100, true}, {101, false}, {5000, false}} {
		resp := &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(strings.Repeat("x", tt.size)))}
		raw, err := ReadBodyUpTo(context.Background(), resp, 100)
		if tt.ok && (err != nil || len(raw) != tt.size) {
			t.Errorf("%d bytes: got %d, %v; want them all", tt.size, len(raw), err)
		}
		if !tt.ok && (KindOf(err) != KindUnavailable || raw != nil) {
			t.Errorf("%d bytes: got %d bytes, %v; want unavailable", tt.size, len(raw), err)
		}
	}
}
