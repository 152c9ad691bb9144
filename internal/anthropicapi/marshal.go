package anthropicapi

import (
	"bytes"
	"encoding/json"
)

// marshal encodes v as compact JSON without HTML escaping, as the
// providers themselves write it (model text is full of < > &).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
