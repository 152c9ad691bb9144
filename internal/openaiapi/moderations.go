package openaiapi

import (
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// imageInputBytes is what an image of a moderations input weighs in
// estimates, as a short text does.
const imageInputBytes = 4 * 85

// ParseModerations reads a moderations request: model (optional in
// OpenAI's API: "" when absent) and the size of input, a string, an array
// of strings, or an array of text and image_url parts. It returns a
// *BadRequestError when input is missing or malformed.
func ParseModerations(body []byte) (*llm.ModerationRequest, error) {
	root, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	if err := refuseCaseVariants(root, moderationsFields); err != nil {
		return nil, err
	}
	req := &llm.ModerationRequest{Raw: body}
	if m := root.Get("model"); m.Exists() && m.Type != gjson.Null {
		if req.Model, err = modelValue(m); err != nil {
			return nil, err
		}
	}
	input := root.Get("input")
	if !input.Exists() {
		return nil, badRequest("input", "missing required parameter: 'input'")
	}
	if req.InputBytes, err = moderationInputBytes(input); err != nil {
		return nil, err
	}
	return req, nil
}

func moderationInputBytes(input gjson.Result) (int, error) {
	invalid := badRequest("input", "input must be a non-empty string, array of strings, or array of text and image_url objects")
	if input.Type == gjson.String {
		if input.Str == "" {
			return 0, invalid
		}
		return len(input.Str), nil
	}
	if !input.IsArray() {
		return 0, invalid
	}
	total, count, bad := 0, 0, false
	input.ForEach(func(_, v gjson.Result) bool {
		count++
		switch {
		case v.Type == gjson.String:
			total += len(v.Str)
		case v.IsObject() && v.Get("type").Str == "text" && v.Get("text").Type == gjson.String:
			total += len(v.Get("text").Str)
		case v.IsObject() && v.Get("type").Str == "image_url" && v.Get("image_url.url").Type == gjson.String:
			total += imageInputBytes
		default:
			bad = true
		}
		return !bad
	})
	if bad || count == 0 {
		return 0, invalid
	}
	return total, nil
}
