package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// OpenAI's image edit endpoint, POST /v1/images/edits.
//
// The request is multipart/form-data, read as a transcription's is (the
// same 25 MiB limit and 413): image, one file or several as repeated
// image[] parts (image and image[] parts are taken together, image first);
// mask, one PNG file; and the text fields model and prompt (both
// required), n, size, quality, response_format, user, background,
// input_fidelity, output_format, output_compression and partial_images,
// checked as a generation's (n, output_compression and partial_images read
// as JSON numbers), and stream, a boolean as a transcription's ("true" in
// any case, or another of strconv.ParseBool's spellings). Any other field
// gets OpenAI's "Unrecognized request argument" 400.
//
// Every image must be a PNG, JPEG or WEBP by its magic bytes. A GPT image
// model (its name holds "image") takes 1 to maxEditImages of them; any
// other model (DALL·E style) exactly one, a PNG. The mask is not drawn
// from: it is only checked.
//
// The answer has the shape of a generation's for the model's family, but
// a DALL·E style image has no revised_prompt, and usage counts imageTokens
// per input image (in input_tokens and input_tokens_details.image_tokens).
// Each image's colour is drawn from the model, the prompt, the index and
// the input images' bytes, so editing another image gives another result
// and the same request the same bytes. The call goes through uploadTurn and
// a prompt holding guardrailWord is refused, as for a generation.
//
// With stream true a GPT image model streams the answer as a generation
// does (see images_stream.go), in image_edit.partial_image and
// image_edit.completed events; a DALL·E style model refuses stream with a
// 400 on param stream. stream false, or none, answers whole.

// maxEditImages is the most input images a GPT image model edits at once.
const maxEditImages = 16

// imageEditFields are the form fields of an image edit.
var imageEditFields = []string{
	"image", "image[]", "mask", "model", "prompt", "n", "size", "quality", "response_format",
	"user", "background", "input_fidelity", "output_format", "output_compression", "stream",
	"partial_images",
}

// imageEditForm is the form of an image edit.
var imageEditForm = formSpec{files: []string{"image", "image[]", "mask"}, known: imageEditFields, sample: "image=@image.png"}

// editTypes are the image types an edit takes, by model family.
var (
	gptEditTypes   = []string{"image/jpeg", "image/png", "image/webp"}
	dallEEditTypes = []string{"image/png"}
)

// imageType is the MIME type of a file by its magic bytes: image/png,
// image/jpeg or image/webp, else what http.DetectContentType makes of it.
func imageType(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp"
	}
	mt, _, _ := strings.Cut(http.DetectContentType(b), ";")
	return mt
}

// formFields are a form's text fields as the JSON fields of an image
// request, for imageParams: the fields named in numbers as JSON numbers
// when they read as one, every other value as a string. Of a repeated
// field the first value counts.
func formFields(form multipartForm, numbers ...string) map[string]json.RawMessage {
	fields := map[string]json.RawMessage{}
	for k := range form.values {
		v := form.value(k)
		if slices.Contains(numbers, k) && json.Valid([]byte(v)) {
			if kind := oaKind(json.RawMessage(v)); kind == "an integer" || kind == "a decimal" {
				fields[k] = json.RawMessage(v)
				continue
			}
		}
		fields[k], _ = json.Marshal(v) // a string always marshals
	}
	return fields
}

// unsupportedFile is OpenAI's refusal of a file of a type not in types.
func unsupportedFile(param, got string, types []string) oaError {
	return oaError{
		Message: fmt.Sprintf("Invalid file '%s': unsupported mimetype ('%s'). Supported file formats are %s.", param, got, supportedValues(types)),
		Type:    "invalid_request_error", Param: strp(param), Code: strp("unsupported_file_mimetype"),
	}
}

// editInputs checks an edit's image and mask files for a model of the GPT
// image family (gpt) or not, and returns the input images, or the error of
// a 400.
func editInputs(form multipartForm, gpt bool) ([][]byte, *oaError) {
	images := slices.Concat(form.files["image"], form.files["image[]"])
	most, types := maxEditImages, gptEditTypes
	if !gpt {
		most, types = 1, dallEEditTypes
	}
	switch {
	case len(images) == 0:
		return nil, &oaError{Message: "Missing required parameter: 'image'.", Type: "invalid_request_error", Param: strp("image")}
	case len(images) > most:
		return nil, &oaError{
			Message: fmt.Sprintf("Invalid 'image': array too long. Expected an array with maximum length %d, but got an array with length %d instead.", most, len(images)),
			Type:    "invalid_request_error", Param: strp("image"), Code: strp("array_above_max_length"),
		}
	}
	for i, img := range images {
		param := "image"
		if len(images) > 1 || len(form.files["image[]"]) > 0 {
			param = fmt.Sprintf("image[%d]", i)
		}
		if t := imageType(img); !slices.Contains(types, t) {
			e := unsupportedFile(param, t, types)
			return nil, &e
		}
	}
	switch masks := form.files["mask"]; {
	case len(masks) > 1:
		return nil, &oaError{
			Message: "Invalid type for 'mask': expected a file, but got an array instead.",
			Type:    "invalid_request_error", Param: strp("mask"),
		}
	case len(masks) == 1 && imageType(masks[0]) != "image/png":
		e := unsupportedFile("mask", imageType(masks[0]), dallEEditTypes)
		return nil, &e
	}
	return images, nil
}

func (s *Server) handleImageEdits(w http.ResponseWriter, r *http.Request) {
	form, model, rw, ok := s.openAIForm(w, r, imageEditForm)
	if !ok {
		return
	}
	fields := formFields(form, "n", "output_compression", "partial_images")
	req, msg := imageParams(fields)
	if msg == "" {
		req.stream, msg = streamFlag(form)
	}
	m, ok := s.modelFor(rw, model, msg)
	if !ok {
		return
	}
	if e := req.streamParams(fields, m.Name); e != nil {
		writeOpenAIError(rw, http.StatusBadRequest, *e, 0)
		return
	}
	images, e := editInputs(form, gptImage(m.Name))
	if e != nil {
		writeOpenAIError(rw, http.StatusBadRequest, *e, 0)
		return
	}
	s.answerImages(rw, r, m, req, images)
}
