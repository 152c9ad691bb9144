package provider

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"
)

func TestClientView(t *testing.T) {
	fallback := func(k Kind) string { return "fallback " + k.String() }
	tests := []struct {
		name   string
		err    error
		kind   Kind
		msg    string
		wantOK bool
	}{
		{"provider words", fmt.Errorf("x: %w", &Error{Kind: KindBadRequest, Message: "bad field"}), KindBadRequest, "bad field", true},
		{"no words", &Error{Kind: KindUnavailable}, KindUnavailable, "fallback unavailable", true},
		{"auth hides words", &Error{Kind: KindAuth, Message: "key sk-1 revoked"}, KindAuth, "fallback upstream_auth", true},
		{"quota hides words", &Error{Kind: KindQuota, Message: "org X over budget"}, KindQuota, "fallback quota_exhausted", true},
		{"not found hides words", &Error{Kind: KindNotFound, Message: "The model `gpt-internal` does not exist"}, KindNotFound, "fallback not_found", true},
		{"deadline", fmt.Errorf("y: %w", context.DeadlineExceeded), KindTimeout, "fallback timeout", true},
		{"other error", errors.New("boom"), KindUnknown, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, msg, ok := ClientView(tt.err, fallback)
			if k != tt.kind || msg != tt.msg || ok != tt.wantOK {
				t.Errorf("got %v %q %v, want %v %q %v", k, msg, ok, tt.kind, tt.msg, tt.wantOK)
			}
		})
	}
}

// A wait past MaxRetryWait also says X-Should-Retry: false, or the
// official SDKs sleep through it in their automatic retry (found by audit
// AD: a spent monthly budget's 429 held an SDK call for weeks).
func TestSetRetryAfter(t *testing.T) {
	tests := []struct {
		name              string
		err               error
		want, shouldRetry string
	}{
		{"rounds up", &Error{Kind: KindRateLimited, RetryAfter: 1500 * time.Millisecond}, "2", ""},
		{"whole seconds", fmt.Errorf("w: %w", &Error{Kind: KindRateLimited, RetryAfter: 3 * time.Second}), "3", ""},
		{"a minute's wait is retried", &Error{Kind: KindRateLimited, RetryAfter: MaxRetryWait}, "120", ""},
		{"a longer one is not", &Error{Kind: KindRateLimited, RetryAfter: MaxRetryWait + time.Second}, "121", "false"},
		{"the longest", &Error{Kind: KindRateLimited, RetryAfter: math.MaxInt64}, "31622400", "false"},
		{"no hint", &Error{Kind: KindRateLimited}, "", ""},
		{"not a provider error", errors.New("x"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			SetRetryAfter(h, tt.err)
			if got := h.Get("Retry-After"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got := h.Get(HeaderShouldRetry); got != tt.shouldRetry {
				t.Errorf("got X-Should-Retry %q, want %q", got, tt.shouldRetry)
			}
		})
	}
}
