package anthropic

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/provider"
)

// maxErrorBody caps how much of an error response is read.
const maxErrorBody = 64 << 10

// classify turns an upstream failure into a provider error. status is 0 for
// an error event received inside a stream; h may be nil. body is the error
// response body or the event's data: {"type":"error","error":{"type","message"}}.
func (c *Client) classify(status int, h http.Header, body []byte) *provider.Error {
	e := &provider.Error{Status: status}
	var typ, msg string
	if gjson.ValidBytes(body) {
		obj := gjson.GetBytes(body, "error")
		if obj.Type == gjson.String {
			msg = obj.String()
		} else {
			typ = obj.Get("type").String()
			msg = obj.Get("message").String()
		}
	}
	if msg == "" && status != 0 {
		msg = http.StatusText(status)
	}
	e.Message = c.redact(msg)
	lmsg := strings.ToLower(msg)
	contains := func(vals ...string) bool {
		for _, v := range vals {
			if strings.Contains(lmsg, v) {
				return true
			}
		}
		return false
	}

	switch {
	case typ == "billing_error" || status == http.StatusPaymentRequired || contains("credit balance is too low"):
		e.Kind = provider.KindQuota
	case status == http.StatusTooManyRequests || typ == "rate_limit_error":
		e.Kind = provider.KindRateLimited
		e.RetryAfter = retryAfter(h, c.now())
	case status == http.StatusUnauthorized || status == http.StatusForbidden ||
		typ == "authentication_error" || typ == "permission_error":
		e.Kind = provider.KindAuth
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout || typ == "timeout_error":
		e.Kind = provider.KindTimeout
	case status >= 500 || typ == "overloaded_error" || typ == "api_error":
		e.Kind = provider.KindUnavailable
	case contains("prompt is too long", "context window", "context limit", "context length", "too many total text bytes"):
		e.Kind = provider.KindContextLength
	case typ == "refusal" || contains("content policy", "usage policy", "usage policies", "content filtering"):
		e.Kind = provider.KindContentRejected
	case status >= 400:
		e.Kind = provider.KindBadRequest
	default:
		// An error event after a 200 with nothing to go on: the provider
		// failed mid-answer.
		e.Kind = provider.KindUnavailable
	}
	return e
}

// redact removes our credential from provider text, in case it is echoed.
func (c *Client) redact(s string) string {
	if c.cfg.APIKey != "" && strings.Contains(s, c.cfg.APIKey) {
		s = strings.ReplaceAll(s, c.cfg.APIKey, "[redacted]")
	}
	return s
}

// retryAfter reads retry-after-ms, then Retry-After (seconds or HTTP date).
func retryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 {
			return time.Duration(s * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// transportError classifies a failure to get response headers, or to read a
// body: deadlines are timeouts, everything else a connection failure.
func transportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return &provider.Error{Kind: provider.KindTimeout, Message: "deadline exceeded", Err: ctxErr}
		}
		// The caller gave up; that says nothing about the deployment.
		return ctxErr
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &provider.Error{Kind: provider.KindTimeout, Message: "upstream timeout", Err: err}
	}
	return &provider.Error{Kind: provider.KindConnection, Message: "upstream connection failed", Err: err}
}
