package provider

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// ClientView returns what a gateway client may be told about err, when err
// is a provider failure or a deadline (ok false otherwise): its kind and a
// message. The message is the provider's own words where the fault is the
// client's to read; for KindAuth, KindQuota and KindNotFound (they would
// describe our credential, account or deployment configuration, such as the
// upstream model name), or when the provider said nothing, it is
// fallback(kind).
func ClientView(err error, fallback func(Kind) string) (k Kind, message string, ok bool) {
	var pe *Error
	if !errors.As(err, &pe) && !errors.Is(err, context.DeadlineExceeded) {
		return KindUnknown, "", false
	}
	k = KindOf(err)
	message = fallback(k)
	if pe != nil && pe.Message != "" && k != KindAuth && k != KindQuota && k != KindNotFound {
		message = pe.Message
	}
	return k, message, true
}

// TooLarge reports whether err is a provider's refusal of a request as too
// large (HTTP 413, Anthropic's request_too_large), which its client is told
// as a 413 too rather than as any other invalid request's 400.
func TooLarge(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Kind == KindBadRequest && pe.Status == http.StatusRequestEntityTooLarge
}

// SetRetryAfter sets a Retry-After header (SetRetryWait) when err carries
// a provider's retry hint; otherwise h is left as is.
func SetRetryAfter(h http.Header, err error) {
	var pe *Error
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		SetRetryWait(h, pe.RetryAfter)
	}
}

// MaxRetryWait is the longest wait a client is told to wait out and then
// retry: a rate limit refills within a minute, where a spent budget's
// Retry-After runs to its next period, hours or days away.
const MaxRetryWait = 2 * time.Minute

// SetRetryWait sets Retry-After to wait, in whole seconds rounded up, and,
// for a wait past MaxRetryWait, X-Should-Retry: false: the official OpenAI
// and Anthropic SDKs otherwise sleep through any Retry-After in their
// automatic retry, so a call refused until next month would hang for weeks
// (found by audit AD).
func SetRetryWait(h http.Header, wait time.Duration) {
	wait = min(wait, MaxRetryHint) // rounding up a larger one could wrap
	h.Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	if wait > MaxRetryWait {
		h.Set(HeaderShouldRetry, "false")
	}
}

// HeaderShouldRetry tells the official OpenAI and Anthropic SDKs whether to
// retry a failed request, overriding their rule (408, 409, 429 and 5xx).
const HeaderShouldRetry = "X-Should-Retry"

// ClientMessage is what a client is told of a failure of kind k when the
// provider said nothing it may read (see ClientView). A dialect whose
// provider words some kinds differently overrides those.
func (k Kind) ClientMessage() string {
	switch k {
	case KindRateLimited:
		return "upstream rate limit exceeded, retry later"
	case KindUnavailable:
		return "upstream model is unavailable or overloaded"
	case KindTimeout:
		return "upstream model did not answer in time"
	case KindConnection:
		return "could not connect to the upstream model"
	case KindContextLength:
		return "the input is longer than the model's context window"
	case KindContentRejected:
		return "the request was rejected by the provider's content policy"
	case KindBadRequest:
		return "the request is invalid for the selected model"
	case KindAuth:
		return "upstream authentication failed"
	case KindQuota:
		return "upstream quota exhausted"
	case KindNotFound:
		return "upstream model or deployment not found"
	}
	return "upstream request failed"
}
