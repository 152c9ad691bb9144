package openaiapi

import (
	"errors"
	"testing"
)

func TestParseModerations(t *testing.T) {
	for _, tt := range []struct {
		body  string
		model string
		bytes int
	}{
		{`{"input":"hello"}`, "", 5},
		{`{"model":null,"input":"hello"}`, "", 5},
		{`{"model":"mod","input":["ab","cde"]}`, "mod", 5},
		{`{"model":"mod","input":[{"type":"text","text":"abc"},{"type":"image_url","image_url":{"url":"data:x"}}]}`, "mod", 3 + imageInputBytes},
	} {
		req, err := ParseModerations([]byte(tt.body))
		if err != nil || req.Model != tt.model || req.InputBytes != tt.bytes || string(req.Raw) != tt.body {
			t.Errorf("%s: got %+v, %v; want model %q, %d bytes", tt.body, req, err, tt.model, tt.bytes)
		}
	}
	for _, body := range []string{
		`{"model":"mod"}`, `{"input":""}`, `{"input":[]}`, `{"input":7}`, `{"model":3,"input":"x"}`,
		`{"input":[{"type":"text"}]}`, `{"input":[{"type":"image_url","image_url":{}}]}`, `{"input":[{"type":"audio"}]}`, `[]`, `{`,
	} {
		_, err := ParseModerations([]byte(body))
		var bre *BadRequestError
		if !errors.As(err, &bre) {
			t.Errorf("%s: got %v, want a bad request", body, err)
		}
	}
}
