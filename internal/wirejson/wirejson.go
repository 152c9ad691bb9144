// Package wirejson writes JSON the way the providers' APIs do, for the two
// inbound dialects (openaiapi, anthropicapi): compact, without HTML
// escaping, as complete responses with their length.
package wirejson

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
)

// Marshal encodes v as compact JSON without HTML escaping, as the providers
// themselves write it (model text is full of < > &).
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Write sends body as a complete JSON response with status and its
// Content-Length.
func Write(w http.ResponseWriter, status int, body []byte) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

// DecodeProblem describes why a request body did not decode into the
// dialect's wire struct, for the client's error, in the API's terms: the
// field's path (as the param) and what it must be, never Go's type names.
// A field that is not a JSON value of the right kind is the usual cause;
// anything else is described without detail.
func DecodeProblem(err error) (param, message string) {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return "", "the request body does not match the API's schema"
	}
	param = te.Field
	want := "of another type"
	switch te.Type.Kind() {
	case reflect.Bool:
		want = "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "an integer"
	case reflect.Float32, reflect.Float64:
		want = "a number"
	case reflect.String:
		want = "a string"
	case reflect.Slice, reflect.Array:
		want = "an array"
	case reflect.Struct, reflect.Map:
		want = "an object"
	}
	if param == "" {
		return "", "the request body must be " + want + ", not " + te.Value
	}
	return param, param + ": must be " + want + ", not " + te.Value
}
