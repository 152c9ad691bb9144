package sim

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"slices"
)

// OpenAI's image variation endpoint, POST /v1/images/variations, which
// only DALL·E 2 serves.
//
// The request is multipart/form-data, read as an edit's is (the same
// 25 MiB limit and 413): image, one square PNG file of less than
// maxVariationImage bytes (required), and the text fields model, n (1 to
// 10, default 1, read as a JSON number), response_format ("url", the
// default, or "b64_json"), size ("256x256", "512x512" or "1024x1024", the
// default) and user. Any other field, stream included, gets OpenAI's
// "Unrecognized request argument" 400. A bad n, response_format or size
// is a 400 on that param; an image missing, repeated, not a PNG by its
// magic bytes and header, too large or not square a 400 on param image.
//
// A request that names no model is for defaultVariationModel, the model
// OpenAI defaults to, when it is configured; otherwise it is refused as an
// edit without a model is. A GPT image model (its name holds "image")
// refuses with a 400 on param model. Any other model answers as DALL·E
// does: created and data, n images as URLs on the simulator (b64_json
// when response_format asks), no usage and no revised_prompt. size is
// checked, not drawn: each image is the simulator's 8x8 PNG, its colour
// drawn from the model, the input image's bytes and the index, so the
// same image gets the same variations, another image others, and the n
// images differ. The call goes through uploadTurn like an edit's (faults,
// the input image against the context window, latency).

// Limits and defaults of a variation.
const (
	defaultVariationModel = "dall-e-2"
	maxVariationImage     = 4 << 20 // an image must be smaller, in bytes
)

// Values a variation's fields may take.
var (
	variationSizes   = []string{"256x256", "512x512", "1024x1024"}
	variationFormats = []string{"url", "b64_json"}
)

// imageVariationForm is the form of an image variation.
var imageVariationForm = formSpec{
	files:  []string{"image"},
	known:  []string{"image", "model", "n", "response_format", "size", "user"},
	sample: "image=@image.png",
	model:  defaultVariationModel,
}

// paramError is OpenAI's 400 about the field param.
func paramError(param, msg string) *oaError {
	return &oaError{Message: msg, Type: "invalid_request_error", Param: strp(param)}
}

// variationParams reads a variation's n, response_format and size, or
// returns the 400 on the field at fault.
func variationParams(form multipartForm) (imageRequest, *oaError) {
	req := imageRequest{size: defaultImageSize, responseFormat: "url"}
	n, msg := intParam(formFields(form, "n"), "n", 1, 1, maxImages)
	if msg != "" {
		return req, paramError("n", msg)
	}
	req.n = n
	if form.has("response_format") {
		req.responseFormat = form.value("response_format")
	}
	if !slices.Contains(variationFormats, req.responseFormat) {
		return req, paramError("response_format", invalidValue(req.responseFormat, variationFormats))
	}
	if form.has("size") {
		req.size = form.value("size")
	}
	if !slices.Contains(variationSizes, req.size) {
		return req, paramError("size", invalidValue(req.size, variationSizes))
	}
	return req, nil
}

// variationImage is a variation's input image: one square PNG of less
// than maxVariationImage bytes. It returns the 400 on param image
// otherwise.
func variationImage(form multipartForm) ([]byte, *oaError) {
	images := form.files["image"]
	switch {
	case len(images) == 0:
		return nil, paramError("image", "Missing required parameter: 'image'.")
	case len(images) > 1:
		return nil, paramError("image", "Invalid type for 'image': expected a file, but got an array instead.")
	}
	img := images[0]
	notPNG := paramError("image", "Uploaded image must be a PNG and less than 4 MB.")
	if imageType(img) != "image/png" || len(img) >= maxVariationImage {
		return nil, notPNG
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	switch {
	case err != nil:
		return nil, notPNG
	case cfg.Width != cfg.Height:
		return nil, paramError("image", fmt.Sprintf("Uploaded image must be square, but it is %dx%d.", cfg.Width, cfg.Height))
	}
	return img, nil
}

// gptVariationError is the refusal of a variation by a GPT image model.
func gptVariationError(model string) *oaError {
	return paramError("model", fmt.Sprintf("Invalid model '%s': image variations are only supported for dall-e-2.", model))
}

func (s *Server) handleImageVariations(w http.ResponseWriter, r *http.Request) {
	form, model, rw, ok := s.openAIForm(w, r, imageVariationForm)
	if !ok {
		return
	}
	req, e := variationParams(form)
	var img []byte
	if e == nil {
		img, e = variationImage(form)
	}
	if e != nil {
		writeOpenAIError(rw, http.StatusBadRequest, *e, 0)
		return
	}
	m, ok := s.modelFor(rw, model, "")
	if !ok {
		return
	}
	if gptImage(m.Name) {
		writeOpenAIError(rw, http.StatusBadRequest, *gptVariationError(m.Name), 0)
		return
	}
	s.answerImages(rw, r, m, req, [][]byte{img})
}
