// Package wirejson writes JSON the way the providers' APIs do, for the two
// inbound dialects (openaiapi, anthropicapi): compact, without HTML
// escaping, as complete responses with their length.
package wirejson

import (
	"bytes"
	"encoding/json"
	"net/http"
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
