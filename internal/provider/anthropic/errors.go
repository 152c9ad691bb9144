package anthropic

import (
	"net/http"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/provider"
)

// classify turns an upstream failure into a provider error. status is 0 for
// an error event received inside a stream; h may be nil. body is the error
// response body or the event's data: {"type":"error","error":{"type","message"}}.
func (c *Client) classify(status int, h http.Header, body []byte) *provider.Error {
	typ, _, msg := provider.ErrorBody(body)
	if msg == "" && status != 0 {
		msg = http.StatusText(status)
	}
	lmsg := strings.ToLower(msg)
	contains := func(vals ...string) bool {
		for _, v := range vals {
			if strings.Contains(lmsg, v) {
				return true
			}
		}
		return false
	}
	e := &provider.Error{Status: status, Message: c.secrets.Redact(msg)}
	e.Kind = provider.Classify(status, provider.Signals{
		Quota:       typ == "billing_error" || status == http.StatusPaymentRequired || contains("credit balance is too low"),
		RateLimited: typ == "rate_limit_error",
		Auth:        typ == "authentication_error" || typ == "permission_error",
		Timeout:     typ == "timeout_error",
		Unavailable: typ == "overloaded_error" || typ == "api_error",
		ContextLength: contains("prompt is too long", "context window", "context limit", "context length",
			"too many total text bytes"),
		ContentRejected: typ == "refusal" || contains("content policy", "usage policy", "usage policies", "content filtering"),
		NotFound:        typ == "not_found_error",
	})
	if e.Kind == provider.KindRateLimited {
		e.RetryAfter = provider.RetryAfter(h, c.now())
	}
	return e
}
