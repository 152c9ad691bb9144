package openaiapi

import (
	"bytes"
	"errors"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

func TestParseVideo(t *testing.T) {
	ref := llm.FormFile{Field: "input_reference", Filename: "ref.png", ContentType: "image/png", Data: bytes.Repeat([]byte{1}, 3000)}
	body, ct := form(t, []string{"model", "sora-2", "prompt", "A train at night", "seconds", "8", "size", "1280x720"}, ref)
	req, seconds, tokens, err := ParseVideo(body, ct)
	if err != nil {
		t.Fatal(err)
	}
	if req.Form == nil || req.Form.Op != "videos" || req.Model != "sora-2" || len(req.Form.Files) != 1 || len(req.Form.Fields) != 4 || seconds != 8 || tokens != 4+3 {
		t.Errorf("form: %+v, %d seconds, %d tokens", req, seconds, tokens)
	}
	json := []byte(`{"prompt":"A train at night","seconds":12}`)
	if req, seconds, tokens, err := ParseVideo(json, "application/json"); err != nil || req.Form != nil || !bytes.Equal(req.Raw, json) || req.Model != "" || seconds != 12 || tokens != 5 {
		t.Errorf("json: %+v, %d seconds, %d tokens, %v", req, seconds, tokens, err)
	}
	if _, seconds, _, err := ParseVideo([]byte(`{"prompt":"x"}`), ""); err != nil || seconds != 4 {
		t.Errorf("default seconds: %d %v", seconds, err)
	}
	noPrompt, noPromptCT := form(t, []string{"seconds", "4"})
	badSeconds, badSecondsCT := form(t, []string{"prompt", "x", "seconds", "four"})
	for name, c := range map[string]struct {
		body  []byte
		ct    string
		param string
	}{
		"no prompt":        {[]byte(`{"seconds":"4"}`), "application/json", "prompt"},
		"empty prompt":     {[]byte(`{"prompt":""}`), "application/json", "prompt"},
		"zero seconds":     {[]byte(`{"prompt":"x","seconds":"0"}`), "application/json", "seconds"},
		"too long":         {[]byte(`{"prompt":"x","seconds":121}`), "application/json", "seconds"},
		"fraction":         {[]byte(`{"prompt":"x","seconds":4.5}`), "application/json", "seconds"},
		"seconds a bool":   {[]byte(`{"prompt":"x","seconds":true}`), "application/json", "seconds"},
		"model a number":   {[]byte(`{"prompt":"x","model":4}`), "application/json", "model"},
		"form, no prompt":  {noPrompt, noPromptCT, "prompt"},
		"form, bad second": {badSeconds, badSecondsCT, "seconds"},
	} {
		var bre *BadRequestError
		if _, _, _, err := ParseVideo(c.body, c.ct); !errors.As(err, &bre) || bre.Param != c.param {
			t.Errorf("%s: %v, want a bad request on %q", name, err, c.param)
		}
	}
	if _, _, _, err := ParseVideo([]byte(`[1]`), "application/json"); err == nil {
		t.Error("an array was read as a video request")
	}
}

func TestParseVideoRemix(t *testing.T) {
	req, tokens, err := ParseVideoRemix([]byte(`{"prompt":"at dawn"}`), "video_1")
	if err != nil || req.RemixOf != "video_1" || string(req.Raw) != `{"prompt":"at dawn"}` || tokens != 3 {
		t.Errorf("remix: %+v, %d tokens, %v", req, tokens, err)
	}
	var bre *BadRequestError
	if _, _, err := ParseVideoRemix([]byte(`{"prompt":1}`), "video_1"); !errors.As(err, &bre) || bre.Param != "prompt" {
		t.Errorf("remix without a prompt: %v", err)
	}
}
