package openaiapi

import (
	"errors"
	"testing"
)

func TestParseImages(t *testing.T) {
	for _, tt := range []struct {
		body     string
		model    string
		bytes, n int
	}{
		{`{"prompt":"a red train"}`, "", 11, 1},
		{`{"model":"img","prompt":"a","n":3,"size":"1024x1024","extra":true}`, "img", 1, 3},
		{`{"model":null,"prompt":"ab","n":null}`, "", 2, 1},
	} {
		req, err := ParseImages([]byte(tt.body))
		if err != nil || req.Model != tt.model || req.PromptBytes != tt.bytes || req.N != tt.n || string(req.Raw) != tt.body {
			t.Errorf("%s: got %+v, %v; want model %q, %d bytes, n %d", tt.body, req, err, tt.model, tt.bytes, tt.n)
		}
	}
	if req, err := ParseImages([]byte(`{"prompt":"a","stream":true,"partial_images":2}`)); err != nil || !req.Stream {
		t.Errorf("streamed: got %+v, %v; want Stream", req, err)
	}
	for _, body := range []string{
		`{"model":"img"}`, `{"prompt":""}`, `{"prompt":3}`, `{"prompt":"a","n":0}`, `{"prompt":"a","n":11}`,
		`{"prompt":"a","n":1.5}`, `{"prompt":"a","n":"2"}`, `{"model":7,"prompt":"a"}`, `[]`, `{"prompt":"a","stream":"yes"}`,
	} {
		_, err := ParseImages([]byte(body))
		var bre *BadRequestError
		if !errors.As(err, &bre) {
			t.Errorf("%s: got %v, want a bad request", body, err)
		}
	}
}
