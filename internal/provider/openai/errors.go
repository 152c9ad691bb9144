package openai

import (
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/provider"
)

// classify turns an upstream failure into a provider error. status is 0 for
// an error object received inside a stream; h may be nil. body is the error
// response body, or the in-stream error chunk.
func (c *Client) classify(status int, h http.Header, body []byte) *provider.Error {
	typ, code, msg := provider.ErrorBody(body)
	if msg == "" && status != 0 {
		msg = http.StatusText(status)
	}
	lmsg := strings.ToLower(msg)
	marker := func(vals ...string) bool {
		for _, v := range vals {
			if typ == v || code == v {
				return true
			}
		}
		return false
	}
	e := &provider.Error{Status: status, Message: c.secrets.Redact(msg), Param: c.unredacted(gjson.GetBytes(body, "error.param").Str),
		Code: c.unredacted(provider.PlainCode(code))}
	e.Kind = provider.Classify(status, provider.Signals{
		Quota:       marker("insufficient_quota", "billing_hard_limit_reached"),
		RateLimited: marker("rate_limit_exceeded", "rate_limit_error"),
		Auth:        marker("invalid_api_key", "authentication_error", "permission_error", "invalid_authentication"),
		Unavailable: marker("server_error", "overloaded_error", "service_unavailable"),
		ContextLength: marker("context_length_exceeded", "string_above_max_length") ||
			strings.Contains(lmsg, "maximum context length") || strings.Contains(lmsg, "context window"),
		ContentRejected: marker("content_filter", "content_policy_violation", "content_management_policy") ||
			strings.Contains(lmsg, "content management policy") || strings.Contains(lmsg, "content policy"),
		// Azure answers DeploymentNotFound for a missing deployment.
		NotFound: marker("model_not_found", "not_found_error", "DeploymentNotFound"),
	})
	if e.Kind == provider.KindRateLimited {
		e.RetryAfter = provider.RetryAfter(h, c.now())
	}
	return e
}

// unredacted returns s, a field the client is passed (the error's code or
// param), or "" when it holds one of the provider's secrets: redacted it
// would no longer name anything, and it must not reach the client as is.
func (c *Client) unredacted(s string) string {
	if c.secrets.Redact(s) != s {
		return ""
	}
	return s
}
