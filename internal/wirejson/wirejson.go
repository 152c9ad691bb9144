// Package wirejson writes JSON the way the providers' APIs do, for the two
// inbound dialects (openaiapi, anthropicapi): compact, without HTML
// escaping, as complete responses with their length; tells the field
// names an upstream written with encoding/json would read as another; and
// validates JSON off the wire (Valid) within a nesting bound.
package wirejson

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
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
	// One backing array for both values, each capped at its length; the
	// names are the canonical ones Set would use.
	values := []string{"application/json", strconv.Itoa(len(body))}
	h["Content-Type"], h["Content-Length"] = values[0:1:1], values[1:2:2]
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

// FoldedField returns the field of fields that key names only once case
// is folded, as Go's encoding/json (and so a server written with it)
// matches names: "Model" or "MODEL" for "model"; "" when key is exactly
// one of fields, or none. The inbound dialects refuse such a key, which
// they would pass through while an upstream reads it as the field. An
// ASCII key is compared only with the fields of its length and first
// letter (fields are lower-case ASCII); another may fold to fewer bytes
// (ſ, K). It does not allocate.
func FoldedField(key string, fields []string) string {
	ascii := key != ""
	for i := 0; i < len(key) && ascii; i++ {
		ascii = key[i] < utf8.RuneSelf
	}
	for _, f := range fields {
		if ascii && (len(key) != len(f) || key[0]|0x20 != f[0]) {
			continue
		}
		if key != f && strings.EqualFold(key, f) {
			return f
		}
	}
	return ""
}
