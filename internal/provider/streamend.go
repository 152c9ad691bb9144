package provider

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/switchyard-gw/switchyard/internal/sse"
)

// JSONObject reports whether data, one event of an upstream stream, is a
// single valid JSON object. An event cut short or mangled (a missing or
// stray comma, two strings in a row) fails it, so the stream ends as
// malformed instead of relaying it and ending as a success. It is one pass
// over data, cheap enough for every streamed token: gjson.Valid's grammar
// (see ScanObject), with a top-level object.
func JSONObject(data string) bool {
	return ScanObject(data, nil, nil)
}

// StreamEnd is an adapter's wording for the ways its upstream stream can
// end; its Err method applies the end rules every adapter shares.
type StreamEnd struct {
	// Origin prefixes the cause of a truncation by a read error, e.g. "openai".
	Origin string
	// TooLarge is the message when a frame exceeded the reader's limit.
	TooLarge string
	// Truncated is the message when the body ended before the answer did,
	// e.g. "stream ended before [DONE]".
	Truncated string
}

// Err decides what err, the error that ended reading the body, means.
// The request's deadline is KindTimeout; a canceled request returns err
// itself (the caller gave up; that says nothing about the deployment); an
// oversized frame is KindUnavailable. Otherwise, when finished (the answer's
// finish or stop reason was seen) it returns io.EOF: a complete answer.
// Anything else is a truncation: KindUnavailable wrapping
// ErrStreamTruncated, never a bare io.EOF.
func (e StreamEnd) Err(err error, finished bool) error {
	// The transport reports the request context's end as the read error.
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindTimeout, Message: "deadline exceeded", Err: err}
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, sse.ErrFrameTooLarge) {
		return &Error{Kind: KindUnavailable, Status: 200, Message: e.TooLarge, Err: err}
	}
	if finished {
		return io.EOF
	}
	cause := ErrStreamTruncated
	if !errors.Is(err, io.EOF) { // never let a cut look like a clean io.EOF
		cause = fmt.Errorf("%s: %w: %w", e.Origin, ErrStreamTruncated, err)
	}
	return &Error{Kind: KindUnavailable, Status: 200, Message: e.Truncated, Err: cause}
}
