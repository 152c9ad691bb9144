package openaiapi

import (
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// maxImages is the most images one generation request may ask for.
const maxImages = 10

// ParseImages reads an image generation request: model (optional in
// OpenAI's API: "" when absent), the prompt's size and n (default 1). It
// returns a *BadRequestError when the prompt is missing or n is out of
// range; every other field is the provider's to check.
func ParseImages(body []byte) (*llm.ImageRequest, error) {
	root, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	if err := refuseCaseVariants(root, imagesFields); err != nil {
		return nil, err
	}
	req := &llm.ImageRequest{Raw: body, N: 1}
	if m := root.Get("model"); m.Exists() && m.Type != gjson.Null {
		if req.Model, err = modelValue(m); err != nil {
			return nil, err
		}
	}
	prompt := root.Get("prompt")
	if prompt.Type != gjson.String || prompt.Str == "" {
		return nil, badRequest("prompt", "prompt must be a non-empty string")
	}
	req.PromptBytes = len(prompt.Str)
	if n := root.Get("n"); n.Exists() && n.Type != gjson.Null {
		if n.Type != gjson.Number || float64(n.Int()) != n.Num || n.Int() < 1 || n.Int() > maxImages {
			return nil, badRequest("n", "n must be an integer from 1 to 10")
		}
		req.N = int(n.Int())
	}
	if req.Stream, err = optionalBool("stream", root.Get("stream")); err != nil {
		return nil, err
	}
	return req, nil
}
