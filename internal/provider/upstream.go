package provider

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// MaxErrorBody caps how much of an upstream error response an adapter reads.
const MaxErrorBody = 64 << 10

// ErrorBody reads an upstream error body of the common shapes
// {"error":"message"} and {"error":{"type","code","message"}}. All three are
// empty when body is not JSON or has no such field.
func ErrorBody(body []byte) (typ, code, msg string) {
	if !wirejson.Valid(body) {
		return "", "", ""
	}
	obj := gjson.GetBytes(body, "error")
	if obj.Type == gjson.String {
		return "", "", obj.String()
	}
	return obj.Get("type").String(), obj.Get("code").String(), obj.Get("message").String()
}

// Redact replaces every occurrence of secret in s, so a credential the
// provider echoes back never reaches a client or a log. An empty secret
// leaves s as is.
func Redact(s, secret string) string {
	if secret != "" && strings.Contains(s, secret) {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	return s
}

// minSecret is the length under which a configured header value is not
// redacted: values such as "1", "v2" or "on" are flags, not credentials,
// and replacing them would garble every message that holds the text.
const minSecret = 4

// Secrets are the credentials in a deployment's config that an upstream
// may echo back in an error (some echo the request's headers): the API
// key, the AWS keys, and every extra header's value, since headers are
// the documented way to send a custom credential; for a value of the
// form "<scheme> <token>" (Authorization: Bearer …) the token alone too.
// Longer secrets come first, so that one containing another is replaced
// whole. An adapter builds them once, in its constructor.
type Secrets []string

// SecretsOf returns cfg's secrets.
func SecretsOf(cfg Config) Secrets {
	var s Secrets
	add := func(v string, min int) {
		if v = strings.TrimSpace(v); len(v) >= min && !slices.Contains(s, v) {
			s = append(s, v)
		}
	}
	for _, v := range []string{cfg.APIKey, cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey, cfg.AWSSessionToken} {
		add(v, 1)
	}
	for _, v := range cfg.Headers {
		add(v, minSecret)
		if _, token, ok := strings.Cut(strings.TrimSpace(v), " "); ok {
			add(token, minSecret)
		}
	}
	slices.SortFunc(s, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return s
}

// Redact replaces every occurrence of each secret in msg.
func (s Secrets) Redact(msg string) string {
	for _, secret := range s {
		msg = Redact(msg, secret)
	}
	return msg
}

// Signals are the provider-specific markers an adapter found in an error
// body (its error type or code, or words of its message). Classify weighs
// them together with the HTTP status.
type Signals struct {
	Quota           bool // billing quota exhausted
	RateLimited     bool
	Auth            bool
	Timeout         bool
	Unavailable     bool // overloaded or a server-side failure
	ContextLength   bool
	ContentRejected bool
	NotFound        bool // the model or deployment does not exist
}

// Classify returns the kind of an upstream failure with HTTP status (0 for
// an error received inside a 200 stream) and the adapter's signals. The
// first rule that holds wins: quota; 429 or rate limited; 401, 403 or auth;
// 408, 504 or timeout; 5xx or unavailable; context length; content
// rejected; 404 or not found; any other 4xx is a bad request; and an error
// with nothing to go on (in a stream, after a 200) means the provider failed
// mid-answer.
func Classify(status int, s Signals) Kind {
	switch {
	case s.Quota:
		return KindQuota
	case status == http.StatusTooManyRequests || s.RateLimited:
		return KindRateLimited
	case status == http.StatusUnauthorized || status == http.StatusForbidden || s.Auth:
		return KindAuth
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout || s.Timeout:
		return KindTimeout
	case status >= 500 || s.Unavailable:
		return KindUnavailable
	case s.ContextLength:
		return KindContextLength
	case s.ContentRejected:
		return KindContentRejected
	case status == http.StatusNotFound || s.NotFound:
		return KindNotFound
	case status >= 400:
		return KindBadRequest
	default:
		return KindUnavailable
	}
}

// RetryAfter reads a response's retry hint: retry-after-ms first, then
// Retry-After as seconds or an HTTP date (relative to now), at most
// MaxRetryHint. It returns 0 when h is nil or carries no usable positive
// hint.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && ms > 0 {
			return hint(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 {
			return hint(s * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, MaxRetryHint)
		}
	}
	return 0
}

// MaxRetryHint bounds a retry hint read from an upstream: a wait of years
// (or one past what a Duration holds, which would wrap to a negative)
// tells the client no more than a year does.
const MaxRetryHint = 366 * 24 * time.Hour

// hint is a wait of ns nanoseconds (a float, however large), at most
// MaxRetryHint.
func hint(ns float64) time.Duration {
	if ns >= float64(MaxRetryHint) {
		return MaxRetryHint
	}
	return time.Duration(ns)
}

// TransportError classifies a failure to get response headers, or to read a
// body, of a request made with ctx: the request's deadline and network
// timeouts are KindTimeout, other failures KindConnection. When the caller
// canceled ctx it returns ctx's error unwrapped, since that says nothing
// about the deployment.
func TransportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return &Error{Kind: KindTimeout, Message: "deadline exceeded", Err: ctxErr}
		}
		return ctxErr
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Kind: KindTimeout, Message: "upstream timeout", Err: err}
	}
	return &Error{Kind: KindConnection, Message: "upstream connection failed", Err: err}
}

// MaxResponseBody caps a non-streaming response body.
const MaxResponseBody = 32 << 20

// NewPost builds a POST of a JSON body to url for ctx. It sets the extra
// headers first, then Content-Type and an Accept of text/event-stream when
// stream is set, application/json otherwise; the caller adds its
// credential.
func NewPost(ctx context.Context, url string, body []byte, stream bool, extra map[string]string) (*http.Request, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range extra {
		hr.Header.Set(k, v)
	}
	// The two values share one backing array, each capped at its length
	// (an append to one cannot reach the other): one allocation, not two.
	accept := "application/json"
	if stream {
		accept = "text/event-stream"
	}
	values := []string{"application/json", accept}
	hr.Header["Content-Type"], hr.Header["Accept"] = values[0:1:1], values[1:2:2]
	return hr, nil
}

// Send does hr with hc and returns a 2xx response, whose body the caller
// closes. A failure to get one goes through TransportError; any other
// status has its body read (up to MaxErrorBody) and closed, and classify
// turns status, headers and body into the returned error.
func Send(hc *http.Client, hr *http.Request, classify func(status int, h http.Header, body []byte) *Error) (*http.Response, error) {
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, TransportError(hr.Context(), err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	eb, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	return nil, classify(resp.StatusCode, resp.Header, eb)
}

// ReadBody reads a non-streaming response body (up to MaxResponseBody) and
// closes it; a read failure goes through TransportError with ctx.
func ReadBody(ctx context.Context, resp *http.Response) ([]byte, error) {
	return ReadBodyUpTo(ctx, resp, MaxResponseBody)
}

// ReadBodyUpTo is ReadBody with its own limit. A body over the limit is
// the provider failing (unavailable), never a cut answer passed on as a
// whole one.
func ReadBodyUpTo(ctx context.Context, resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	raw, err := readAll(io.LimitReader(resp.Body, limit+1), resp.ContentLength, limit)
	if err != nil {
		return nil, TransportError(ctx, err)
	}
	if int64(len(raw)) > limit {
		return nil, &Error{Kind: KindUnavailable, Status: resp.StatusCode, Message: fmt.Sprintf("response body larger than %d MiB", limit>>20)}
	}
	return raw, nil
}

// readAll is io.ReadAll, with a first buffer of the declared length (and a
// byte more, to meet EOF without growing) when it is known and within
// limit: one allocation for an answer of any size, where io.ReadAll starts
// at 512 bytes and grows, copying, to the size of the body.
func readAll(r io.Reader, declared, limit int64) ([]byte, error) {
	if declared <= 0 || declared > limit {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, declared+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // longer than declared: grow
		}
	}
}

// CloseBody closes a stream's upstream body, reading a little of what is
// left first, so that a connection that finished can be reused.
func CloseBody(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 4<<10)
	_ = body.Close()
}
