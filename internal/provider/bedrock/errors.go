package bedrock

import (
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// classify turns an upstream error response into a provider error. h may
// be nil. The error's type is the X-Amzn-ErrorType header's, else the
// body's "__type" or "code"; the message is the body's "message" (or
// "Message").
func (c *Client) classify(status int, h http.Header, body []byte) *provider.Error {
	typ := errorType(h.Get("X-Amzn-ErrorType"))
	var msg string
	if wirejson.Valid(body) {
		root := gjson.ParseBytes(body)
		if typ == "" {
			typ = errorType(root.Get("__type").String())
		}
		if typ == "" {
			typ = errorType(root.Get("code").String())
		}
		if msg = root.Get("message").String(); msg == "" {
			msg = root.Get("Message").String()
		}
	}
	return c.classifyType(status, h, typ, msg)
}

// classifyException turns an exception received inside a 200 stream into
// a provider error: typ is the :exception-type header (lower camel case,
// e.g. throttlingException), payload the exception's JSON.
func (c *Client) classifyException(typ string, payload []byte) *provider.Error {
	var msg string
	if wirejson.Valid(payload) {
		msg = gjson.GetBytes(payload, "message").String()
	}
	return c.classifyType(0, nil, typ, msg)
}

// errorType is the bare name of an AWS error type, which may come as
// "ValidationException:http://internal.amazon.com/…" (the header) or
// "com.amazon.coral.service#UnrecognizedClientException" (the body).
func errorType(s string) string {
	s, _, _ = strings.Cut(s, ":")
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// classifyType classifies an error of type typ (compared without regard to
// case: an HTTP error names it in upper camel case, a stream exception in
// lower) with message msg; status is 0 inside a stream.
func (c *Client) classifyType(status int, h http.Header, typ, msg string) *provider.Error {
	if msg == "" {
		if typ != "" {
			msg = typ
		} else if status != 0 {
			msg = http.StatusText(status)
		}
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
	is := func(names ...string) bool {
		for _, n := range names {
			if strings.EqualFold(typ, n) {
				return true
			}
		}
		return false
	}
	// A provider may echo a credential back (in a signature error, the
	// access key id).
	e := &provider.Error{Status: status, Message: c.secrets.Redact(msg)}
	e.Kind = provider.Classify(status, provider.Signals{
		RateLimited: is("ThrottlingException", "ModelNotReadyException", "ServiceQuotaExceededException"),
		Auth:        is("AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException", "InvalidSignatureException"),
		Timeout:     is("ModelTimeoutException"),
		Unavailable: is("ServiceUnavailableException", "InternalServerException", "ModelErrorException", "ModelStreamErrorException"),
		ContextLength: contains("too long", "exceeds", "context window", "context length", "maximum context",
			"input length"),
		ContentRejected: contains("content filter", "guardrail", "blocked"),
		NotFound:        is("ResourceNotFoundException"),
	})
	if status == 0 && e.Kind == provider.KindUnavailable && is("ValidationException") {
		// Classify reads an error with no status and no signal as the
		// provider failing mid-answer; a validation error in the stream
		// is the request's fault, as it is before the stream.
		e.Kind = provider.KindBadRequest
	}
	if e.Kind == provider.KindRateLimited {
		e.RetryAfter = provider.RetryAfter(h, c.now())
	}
	return e
}
