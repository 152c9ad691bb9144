package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// OpenAI's image generation endpoint, POST /v1/images/generations, and
// GET /v1/images/files/{id}.png, which serves the images it (or the image
// edit and variation endpoints, see image_edits.go and
// image_variations.go) answered by URL.
//
// The request is {"model": name, "prompt": text, ...}; model and a
// non-empty prompt are required, n is 1 to 10 (default 1), and
// response_format is "url" or "b64_json". size, quality, style, user,
// background, output_format and moderation are checked to be strings,
// output_compression an integer from 0 to 100, stream a boolean and
// partial_images an integer from 0 to 3 (a 400 on param partial_images
// otherwise; without stream it is ignored); only size and quality are
// used (echoed), and background by a stream. Any other top-level field is
// refused, as OpenAI does.
//
// The model's name picks its family:
//
//   - A name holding "image" (sim-image, gpt-image-1) answers as OpenAI's
//     GPT image models: every image as b64_json whatever response_format
//     says, with usage (input_tokens estimateTokens of the prompt's bytes,
//     output_tokens imageOutputTokens per image) and the size, quality
//     (defaults 1024x1024 and medium, for auto too) and output_format
//     ("png", the only format the simulator draws) of the answer.
//   - Any other name (sim-dalle) answers as DALL·E: no usage, each image
//     with a revised_prompt (the prompt and revisedSuffix), as a URL on the
//     simulator itself unless response_format is b64_json. It refuses
//     stream true with a 400 on param stream.
//
// With stream true a GPT image model streams the answer as server-sent
// events (see images_stream.go): for each image its partial_images
// partial images, then the image itself with its share of the usage. A
// non-streamed request is never matched by a mid-stream fault.
//
// Each image is an 8x8 PNG of one colour drawn from the SHA-256 of the
// model name, the prompt and the image's index, so the same request gets
// the same bytes. A prompt holding guardrailWord ("forbidden", in any
// case) is refused with OpenAI's content_policy_violation 400, after the
// call has gone through uploadTurn like an embeddings call (faults, the
// prompt's tokens against the context window, latency).

// Limits and defaults of an image request.
const (
	maxImages         = 10
	imageOutputTokens = 1056 // output tokens of one 1024x1024 medium image
	imageSide         = 8    // width and height of the simulator's images
	defaultImageSize  = "1024x1024"
	defaultQuality    = "medium"
	defaultBackground = "auto"
	imageFormat       = "png" // the output_format of every image the simulator draws
	revisedSuffix     = ", as a flat colour swatch"
	imagePath         = "/v1/images/files/"
	maxImageFiles     = 1024 // images kept for GET, newest
	maxPartialImages  = 3    // partial images a streamed image may have
)

// imageFields are the top-level fields an image request may have.
var imageFields = []string{
	"model", "prompt", "n", "size", "quality", "style", "user", "response_format",
	"background", "output_format", "output_compression", "moderation", "stream", "partial_images",
}

// imageRequest is what the simulator reads of an image request.
type imageRequest struct {
	prompt                    string
	n                         int
	size, quality, background string
	responseFormat            string
	stream                    bool // the answer is to stream
	partials                  int  // partial images per image of a stream
}

// gptImage tells whether a model answers as OpenAI's GPT image models.
func gptImage(model string) bool { return strings.Contains(strings.ToLower(model), "image") }

// imageParams reads an image request's fields (model aside), or returns
// the message of a 400.
func imageParams(fields map[string]json.RawMessage) (imageRequest, string) {
	var req imageRequest
	strs := map[string]*string{"prompt": &req.prompt, "size": &req.size, "quality": &req.quality,
		"background": &req.background, "response_format": &req.responseFormat}
	for _, k := range []string{"prompt", "size", "quality", "style", "user", "response_format", "background", "output_format", "moderation"} {
		if !present(fields, k) {
			continue
		}
		var v string
		if json.Unmarshal(fields[k], &v) != nil {
			return req, fmt.Sprintf("Invalid type for '%s': expected a string, but got %s instead.", k, oaKind(fields[k]))
		}
		if p := strs[k]; p != nil {
			*p = v
		}
	}
	switch {
	case !present(fields, "prompt"):
		return req, "Missing required parameter: 'prompt'."
	case req.prompt == "":
		return req, "Invalid 'prompt': string too short. Expected a string with minimum length 1, but got an empty string instead."
	}
	var msg string
	if req.n, msg = intParam(fields, "n", 1, 1, maxImages); msg != "" {
		return req, msg
	}
	if _, msg = intParam(fields, "output_compression", 100, 0, 100); msg != "" {
		return req, msg
	}
	switch req.responseFormat {
	case "", "url", "b64_json":
	default:
		return req, fmt.Sprintf("Invalid value: '%s'. Supported values are: 'url' and 'b64_json'.", req.responseFormat)
	}
	return req, ""
}

// intParam reads the integer field k, def when absent, or returns the
// message of a 400 when it is not an integer from lo to hi.
func intParam(fields map[string]json.RawMessage, k string, def, lo, hi int) (int, string) {
	if !present(fields, k) {
		return def, ""
	}
	var v int
	if json.Unmarshal(fields[k], &v) != nil {
		return 0, fmt.Sprintf("Invalid type for '%s': expected an integer, but got %s instead.", k, oaKind(fields[k]))
	}
	switch {
	case v < lo:
		return 0, fmt.Sprintf("Invalid '%s': integer below minimum value. Expected a value >= %d, but got %d instead.", k, lo, v)
	case v > hi:
		return 0, fmt.Sprintf("Invalid '%s': integer above maximum value. Expected a value <= %d, but got %d instead.", k, hi, v)
	}
	return v, ""
}

// boolParam reads the boolean field k, false when absent, or returns the
// message of a 400 when it is no boolean.
func boolParam(fields map[string]json.RawMessage, k string) (bool, string) {
	if !present(fields, k) {
		return false, ""
	}
	var v bool
	if json.Unmarshal(fields[k], &v) != nil {
		return false, fmt.Sprintf("Invalid type for '%s': expected a boolean, but got %s instead.", k, oaKind(fields[k]))
	}
	return v, ""
}

// streamParams reads partial_images into req (0 when absent; checked
// whether or not the answer streams) and checks that the model streams
// when req.stream asks it to: only GPT image models do. It returns
// OpenAI's 400, on the param at fault, or nil.
func (req *imageRequest) streamParams(fields map[string]json.RawMessage, model string) *oaError {
	n, msg := intParam(fields, "partial_images", 0, 0, maxPartialImages)
	switch {
	case msg != "":
		return &oaError{Message: msg, Type: "invalid_request_error", Param: strp("partial_images")}
	case req.stream && !gptImage(model):
		return &oaError{Message: "stream is only supported for gpt-image models.", Type: "invalid_request_error", Param: strp("stream")}
	}
	req.partials = n
	return nil
}

// shape is the size, quality and background a GPT image answer reports
// (a whole answer the first two, a stream all three): the request's, or
// the defaults when it gives none (or auto, for size and quality).
func (req imageRequest) shape() (size, quality, background string) {
	size, quality, background = req.size, req.quality, req.background
	if size == "" || size == "auto" {
		size = defaultImageSize
	}
	if quality == "" || quality == "auto" {
		quality = defaultQuality
	}
	if background == "" {
		background = defaultBackground
	}
	return size, quality, background
}

// imageColour is the colour of image i of a request to model, drawn from
// the model, the prompt, i and inputs (inputsKey of an edit's input
// images, "" for a generation).
func imageColour(model, prompt, inputs string, i int) color.NRGBA {
	sum := sha256.Sum256([]byte(model + "\x00" + prompt + "\x00" + strconv.Itoa(i) + inputs))
	return color.NRGBA{R: sum[0], G: sum[1], B: sum[2], A: 0xff}
}

// paintPNG is an imageSide-square PNG whose first rows rows are c and the
// rest transparent.
func paintPNG(c color.NRGBA, rows int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, imageSide, imageSide))
	for y := range rows {
		for x := range imageSide {
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // writing to a buffer cannot fail
	return buf.Bytes()
}

// drawImage is image i of a request to model: an 8x8 PNG of one colour
// (see imageColour).
func drawImage(model, prompt, inputs string, i int) []byte {
	return paintPNG(imageColour(model, prompt, inputs, i), imageSide)
}

// partialImage is partial image k (from 0) of the partials that image i
// of a request to model streams before it: the image's top
// imageSide*(k+1)/(partials+1) rows, the rest transparent, so that each
// partial shows more of the image and none is the whole of it.
func partialImage(model, prompt, inputs string, i, k, partials int) []byte {
	return paintPNG(imageColour(model, prompt, inputs, i), imageSide*(k+1)/(partials+1))
}

// inputsKey is what drawImage hashes of an edit's input images: a NUL and
// the SHA-256 of each, in order; "" for none.
func inputsKey(inputs [][]byte) string {
	var b strings.Builder
	for _, in := range inputs {
		sum := sha256.Sum256(in)
		b.WriteByte(0)
		b.Write(sum[:])
	}
	return b.String()
}

// imageFiles keeps the newest images answered by URL, for GET. The zero
// value is ready to use.
type imageFiles struct {
	mu    sync.Mutex
	files map[string][]byte // by id
	order []string          // ids, oldest first
}

func (f *imageFiles) put(id string, img []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.files == nil {
		f.files = map[string][]byte{}
	}
	if len(f.order) >= maxImageFiles {
		delete(f.files, f.order[0])
		f.order = f.order[1:]
	}
	f.files[id] = img
	f.order = append(f.order, id)
}

func (f *imageFiles) get(id string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.files[id]
	return b, ok
}

// baseURL is the simulator's own base URL as the request reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) handleImageGenerations(w http.ResponseWriter, r *http.Request) {
	fields, model, rw, ok := s.openAIObject(w, r, "", imageFields...)
	if !ok {
		return
	}
	req, msg := imageParams(fields)
	if msg == "" {
		req.stream, msg = boolParam(fields, "stream")
	}
	if req.stream {
		rw.c.update(func(k *Call) { k.Stream = true })
	}
	m, ok := s.modelFor(rw, model, msg)
	if !ok {
		return
	}
	if e := req.streamParams(fields, m.Name); e != nil {
		writeOpenAIError(rw, http.StatusBadRequest, *e, 0)
		return
	}
	s.answerImages(rw, r, m, req, nil)
}

// answerImages answers an image request to m whose fields have been read:
// the call goes through uploadTurn (estimateTokens of the prompt's bytes
// plus imageTokens per input image; mid-stream faults match a stream), a
// prompt holding guardrailWord is refused, and the answer has req.n
// images in the shape of m's family, streamed when req.stream asks (m is
// then a GPT image model). inputs are an edit's input images, or a
// variation's one, none for a generation: they colour the images and count
// in usage, and the images of an edit or a variation have no
// revised_prompt.
func (s *Server) answerImages(rw *recorder, r *http.Request, m Model, req imageRequest, inputs [][]byte) {
	d := openAI{s}
	p := &prompt{images: len(inputs)}
	p.add(req.prompt)
	text, images := estimateTokens(len(req.prompt)), imageTokens*len(inputs)
	_, f, ok := s.uploadTurn(rw, r, d, m, p, []int{text + images}, req.stream)
	if !ok {
		return
	}
	if strings.Contains(strings.ToLower(req.prompt), guardrailWord) {
		d.policyError(rw)
		return
	}
	usage := newImageUsage(text, images, imageOutputTokens*req.n)
	key, created := inputsKey(inputs), s.now().Unix()
	if req.stream {
		kind := "image_generation"
		if len(inputs) > 0 {
			kind = "image_edit"
		}
		s.streamImages(rw, r, m, f, imageEvents(m.Name, req, key, kind, created, usage))
		return
	}
	answer := map[string]any{"created": created, "data": s.imageData(r, m, req, key, len(inputs) > 0)}
	if gptImage(m.Name) {
		answer["size"], answer["quality"], _ = req.shape()
		answer["output_format"], answer["usage"] = imageFormat, usage
	}
	writeJSON(rw, http.StatusOK, answer, map[string]string{"x-request-id": "req_" + s.nextID(24)})
}

// imageData is the data of a whole image answer: req.n images of a
// request to m (key is inputsKey of an edit's or a variation's inputs,
// edit whether there are any), each as b64_json (every GPT image, or when
// response_format asks) or a URL on the simulator, with a revised_prompt
// when a DALL·E style model generates it.
func (s *Server) imageData(r *http.Request, m Model, req imageRequest, key string, edit bool) []map[string]string {
	gpt := gptImage(m.Name)
	data := make([]map[string]string, req.n)
	for i := range data {
		img := drawImage(m.Name, req.prompt, key, i)
		switch {
		case gpt || req.responseFormat == "b64_json":
			data[i] = map[string]string{"b64_json": base64.StdEncoding.EncodeToString(img)}
		default:
			id := "img-" + s.nextID(24)
			s.images.put(id, img)
			data[i] = map[string]string{"url": baseURL(r) + imagePath + id + ".png"}
		}
		if !gpt && !edit {
			data[i]["revised_prompt"] = req.prompt + revisedSuffix
		}
	}
	return data
}

// handleImageFile serves an image answered by URL. It is not a call: it is
// neither recorded nor subject to faults.
func (s *Server) handleImageFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	id, ok := strings.CutSuffix(name, ".png")
	img, found := s.images.get(id)
	if !ok || !found {
		writeOpenAIError(w, http.StatusNotFound, oaError{
			Message: fmt.Sprintf("No such image: '%s'.", name), Type: "invalid_request_error",
		}, 0)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Content-Length", strconv.Itoa(len(img)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(img)
}
