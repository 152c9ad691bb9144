package httpmux

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// BodyFailure is why a request body could not be read; each API answers
// it in its own error format.
type BodyFailure int

const (
	// BodyRead: no failure, the body is in.
	BodyRead BodyFailure = iota
	// BodyTooLarge: the body was declared or found longer than the limit
	// (a 413).
	BodyTooLarge
	// BodyTimeout: the server's read_timeout passed before it was in (a
	// 408: the request was fine, it was slow).
	BodyTimeout
	// BodyGone: the client hung up during its upload (nobody to answer).
	BodyGone
	// BodyUnreadable: any other failure (a 400 that must not repeat the
	// error, whose text names the server's and the client's addresses).
	BodyUnreadable
)

// ReadBody reads r's body up to limit bytes. A body whose declared length
// is already over limit is refused before any of it is read, with
// Connection: close on the answer (net/http would otherwise read, and
// wait for, a body under its 256 KiB discard threshold before answering).
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, BodyFailure) {
	if r.ContentLength > limit {
		w.Header().Set("Connection", "close")
		return nil, BodyTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return nil, FailureOf(r, err)
	}
	return body, BodyRead
}

// FailureOf is the failure err, an error reading r's body through
// http.MaxBytesReader, stands for.
func FailureOf(r *http.Request, err error) BodyFailure {
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return BodyRead
	case errors.As(err, &mbe):
		return BodyTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded):
		return BodyTimeout
	case errors.Is(err, io.ErrUnexpectedEOF) || r.Context().Err() != nil:
		return BodyGone
	}
	return BodyUnreadable
}

// CodingRefusal is the message of the 415 for a body in coding (see
// ContentCoding), in both APIs' refusals.
func CodingRefusal(coding string) string {
	if len(coding) > 40 {
		coding = coding[:40] + "…"
	}
	return "the request body's Content-Encoding " + strconv.Quote(coding) + " is not supported: send the body uncompressed"
}

// ContentCoding returns the first content coding other than identity a
// request's body is declared in, or "" (a request without a body has
// none to decode). Nothing in the server decodes one: the API and the
// admin API refuse such a body with a 415 in their own formats.
func ContentCoding(r *http.Request) string {
	if r.ContentLength == 0 {
		return ""
	}
	for _, v := range r.Header["Content-Encoding"] {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return c
			}
		}
	}
	return ""
}
