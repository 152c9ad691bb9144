package batch

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/httpmux"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// body is an upload's request body, cut at a limit, that keeps the error
// reading it failed with: a decoder's error then tells the client's
// malformed JSON or multipart (its text is the client's to see) from the
// connection's failure, whose text names the server's and the client's
// socket addresses and is answered by its kind instead.
type body struct {
	io.ReadCloser
	r   *http.Request
	err error // the first failure other than io.EOF
}

// readBody returns r's body cut at limit bytes. A body whose declared
// length is already over limit is not read at all (no 100 Continue
// either): it has failed before its first byte, so that checking failed
// first answers its 413 at once.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) *body {
	if r.ContentLength > limit {
		return &body{ReadCloser: http.NoBody, r: r, err: &http.MaxBytesError{Limit: limit}}
	}
	return &body{ReadCloser: http.MaxBytesReader(w, r.Body, limit), r: r}
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// failed answers with fail, when reading the body failed, what a client
// should see, and reports whether it did: a body over the limit gets a
// 413 with code and message, one the server's read_timeout cut off a 408
// (as the gateway's other endpoints do), any other failure (the client
// hung up) a 400 that does not echo the connection's error.
func (b *body) failed(w http.ResponseWriter, fail errorWriter, code, message string) bool {
	switch httpmux.FailureOf(b.r, b.err) {
	case httpmux.BodyRead:
		return false
	case httpmux.BodyTooLarge:
		fail(w, http.StatusRequestEntityTooLarge, code, "request_too_large", message)
	case httpmux.BodyTimeout:
		fail(w, http.StatusRequestTimeout, "request_timeout", "timeout_error", "the request body was not received within the server's read timeout")
	default:
		fail(w, http.StatusBadRequest, "invalid_body", "invalid_request_error", "could not read the request body")
	}
	return true
}

// errTrailing is decodeJSON's error for a body with more after its JSON
// value than whitespace.
var errTrailing = errors.New("batch: data after the JSON value")

// decodeJSON decodes the one JSON value r holds into v; anything after it
// but whitespace is errTrailing, as the gateway's other endpoints refuse
// it.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errTrailing
	}
	return nil
}

// jsonProblem describes why JSON did not decode into one of the APIs'
// structs, in the API's terms, never Go's type names: the field at fault
// (as the error's param, "" when none) and what is wrong. what names the
// JSON ("the body", "line").
func jsonProblem(what string, err error) (param, message string) {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, errTrailing):
		return "", what + " has more after its JSON object"
	case errors.Is(err, io.EOF):
		return "", what + " is empty"
	case errors.As(err, &se):
		return "", what + " is not valid JSON: " + se.Error()
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "", what + " is not valid JSON: it ends before its value does"
	case errors.As(err, &te) && te.Field == "":
		return "", what + " must be a JSON object, not " + te.Value
	}
	return wirejson.DecodeProblem(err)
}
