package openaiapi

import (
	"errors"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

func TestParseCompletions(t *testing.T) {
	req, err := ParseCompletions([]byte(`{"model":"auto","prompt":"def f(x):","suffix":"    return y","max_tokens":64,"stream":true,"stream_options":{"include_usage":true},"echo":false,"best_of":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if req.Model != "auto" || req.Dialect != llm.DialectOpenAICompletions || !req.Stream || !req.IncludeUsage || req.MaxTokens != 64 ||
		req.LastUserText != "def f(x):" || req.TextBytes != len("def f(x):")+len("    return y") {
		t.Fatalf("parsed %+v", req)
	}
	// Translated, suffix is refused: only a completion model fills in.
	var bre *BadRequestError
	if _, err := req.Body(); !errors.As(err, &bre) || bre.Param != "suffix" {
		t.Errorf("Body() = %v, want a bad request on suffix", err)
	}
	req, _ = ParseCompletions([]byte(`{"model":"m","prompt":["Once upon"],"temperature":0.2,"stop":"\n","user":"u"}`))
	b, err := req.Body()
	if err != nil || len(b.Messages) != 1 || b.Messages[0].Role != llm.RoleUser || b.Messages[0].Parts[0].Text != "Once upon" ||
		*b.Temperature != 0.2 || len(b.Stop) != 1 || b.User != "u" {
		t.Errorf("translated body %+v, %v", b, err)
	}
	for _, tt := range []struct{ body, param string }{
		{`{"model":"m","prompt":"x","echo":true}`, "echo"},
		{`{"model":"m","prompt":"x","logprobs":2}`, "logprobs"},
		{`{"model":"m","prompt":"x","n":2}`, "n"},
		{`{"model":"m","prompt":"x","best_of":3}`, "best_of"},
		{`{"model":"m","prompt":[[1,2]]}`, "prompt"},
		{`{"model":"m","prompt":["a","b"]}`, "prompt"},
	} {
		req, err := ParseCompletions([]byte(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := req.Body(); !errors.As(err, &bre) || bre.Param != tt.param {
			t.Errorf("%s translated: %v, want a bad request on %q", tt.body, err, tt.param)
		}
	}
	req, err = ParseCompletions([]byte(`{"model":"m","prompt":[[1,2,3],"tail"]}`))
	if err != nil || req.NumMessages != 2 || req.LastUserText != "tail" {
		t.Errorf("token arrays: %+v %v", req, err)
	}
	for _, tt := range []struct{ body, param string }{
		{`{"prompt":"x"}`, "model"},
		{`{"model":"m"}`, "prompt"},
		{`{"model":"m","prompt":{}}`, "prompt"},
		{`{"model":"m","prompt":[true]}`, "prompt"},
		{`{"model":"m","prompt":"x","max_tokens":-1}`, "max_tokens"},
		{`{"model":"m","prompt":"x","stream":1}`, "stream"},
		{`{"model":"m","prompt":"x","stream_options":[]}`, "stream_options"},
	} {
		_, err := ParseCompletions([]byte(tt.body))
		var bre *BadRequestError
		if !errors.As(err, &bre) || bre.Param != tt.param {
			t.Errorf("%s: got %v, want a bad request on %q", tt.body, err, tt.param)
		}
	}
}

// FuzzParseCompletions: any body is a request with a model, or a
// *BadRequestError; never a panic or another error.
func FuzzParseCompletions(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","prompt":"def f(","suffix":"x","max_tokens":5,"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"m","prompt":[[1,2],[3]]}`, `{"model":"m","prompt":["a","b"]}`,
		`{}`, `[]`, `{"model":"m"}`, `{"model":"m","prompt":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseCompletions(body)
		if err != nil {
			var bre *BadRequestError
			if !errors.As(err, &bre) {
				t.Fatalf("got error %T %v, want *BadRequestError", err, err)
			}
			return
		}
		if req.Model == "" || req.Dialect != llm.DialectOpenAICompletions {
			t.Fatalf("accepted %+v", req)
		}
	})
}
