package openaiapi

import (
	"mime"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Seconds of video a job makes when it names none (OpenAI's default),
// and the most a request may name: what budgets reserve must be bounded.
const (
	defaultVideoSeconds = 4
	maxVideoSeconds     = 120
)

// ParseVideo reads a Videos API create (POST /v1/videos): a multipart
// form of contentType (the SDKs send one, with an optional input_reference
// file) or a JSON object. prompt is required; model is optional ("" when
// absent); seconds, a whole number from 1 to 120 as a string or number,
// defaults to 4. It also returns the seconds asked for, and the request's
// weight in estimated tokens (the prompt's, and an upload's).
func ParseVideo(body []byte, contentType string) (*llm.VideoRequest, int, int, error) {
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "multipart/form-data" {
		form, err := parseForm(body, contentType, "videos", "input_reference")
		if err != nil {
			return nil, 0, 0, err
		}
		prompt, seconds := "", ""
		for _, f := range form.Fields {
			switch f.Name {
			case "prompt":
				prompt = f.Value
			case "seconds":
				seconds = f.Value
			}
		}
		n, err := videoSeconds(gjson.Result{Type: gjson.String, Str: seconds}, seconds != "")
		if err != nil {
			return nil, 0, 0, err
		}
		if prompt == "" {
			return nil, 0, 0, badRequest("prompt", "missing required parameter: 'prompt'")
		}
		upload := 0
		for _, f := range form.Files {
			upload += len(f.Data)
		}
		return &llm.VideoRequest{Model: form.Model, Form: form}, n, (len(prompt)+3)/4 + upload/uploadBytesPerToken + 1, nil
	}
	root, err := parseObject(body)
	if err != nil {
		return nil, 0, 0, err
	}
	if err := refuseCaseVariants(root, videoFields); err != nil {
		return nil, 0, 0, err
	}
	req := &llm.VideoRequest{Raw: body}
	if m := root.Get("model"); m.Exists() && m.Type != gjson.Null {
		if req.Model, err = modelValue(m); err != nil {
			return nil, 0, 0, err
		}
	}
	prompt := root.Get("prompt")
	if prompt.Type != gjson.String || prompt.Str == "" {
		return nil, 0, 0, badRequest("prompt", "prompt must be a non-empty string")
	}
	s := root.Get("seconds")
	n, err := videoSeconds(s, s.Exists() && s.Type != gjson.Null)
	if err != nil {
		return nil, 0, 0, err
	}
	return req, n, (len(prompt.Str)+3)/4 + 1, nil
}

// ParseVideoRemix reads a Videos API remix (POST /v1/videos/{id}/remix)
// of the video id: a JSON object with a non-empty prompt, relayed as it
// is. It also returns the request's weight in estimated tokens.
func ParseVideoRemix(body []byte, id string) (*llm.VideoRequest, int, error) {
	root, err := parseObject(body)
	if err != nil {
		return nil, 0, err
	}
	if err := refuseCaseVariants(root, videoFields); err != nil {
		return nil, 0, err
	}
	prompt := root.Get("prompt")
	if prompt.Type != gjson.String || prompt.Str == "" {
		return nil, 0, badRequest("prompt", "prompt must be a non-empty string")
	}
	return &llm.VideoRequest{Raw: body, RemixOf: id}, (len(prompt.Str)+3)/4 + 1, nil
}

// videoSeconds reads a job's seconds (a whole number, as a string or a
// number): the default when not set.
func videoSeconds(v gjson.Result, set bool) (int, error) {
	if !set {
		return defaultVideoSeconds, nil
	}
	var n int
	var err error
	switch v.Type {
	case gjson.String:
		n, err = strconv.Atoi(v.Str)
	case gjson.Number:
		n = int(v.Int())
		if float64(n) != v.Num {
			err = strconv.ErrSyntax
		}
	default:
		err = strconv.ErrSyntax
	}
	if err != nil || n < 1 || n > maxVideoSeconds {
		return 0, badRequest("seconds", "seconds must be a whole number of seconds from 1 to 120, such as \"4\", \"8\" or \"12\"")
	}
	return n, nil
}
