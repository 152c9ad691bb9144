package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	oaoption "github.com/openai/openai-go/v3/option"
)

// Input files for edits. Only their first bytes matter to the simulator.
var (
	editPNG  = drawImage("test", "a source image", "", 0)
	editPNG2 = drawImage("test", "another source image", "", 0)
	editJPEG = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00not really a jpeg")
	editWEBP = []byte("RIFF\x1a\x00\x00\x00WEBPVP8 not really a webp")
)

// oneImage is an edit's image param of one file, sent as "image".
func oneImage(b []byte) openai.ImageEditParamsImageUnion {
	return openai.ImageEditParamsImageUnion{OfFile: openai.File(bytes.NewReader(b), "image.png", "image/png")}
}

// imageArray is an edit's image param of several files, sent as "image[]".
// The readers are anonymous (application/octet-stream): the simulator
// goes by the bytes.
func imageArray(bs ...[]byte) openai.ImageEditParamsImageUnion {
	rs := make([]io.Reader, len(bs))
	for i, b := range bs {
		rs[i] = bytes.NewReader(b)
	}
	return openai.ImageEditParamsImageUnion{OfFileArray: rs}
}

// edit sends an edit that must succeed.
func edit(t *testing.T, oa openai.Client, params openai.ImageEditParams, opts ...oaoption.RequestOption) *openai.ImagesResponse {
	t.Helper()
	res, err := oa.Images.Edit(t.Context(), params, opts...)
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	noExtra(t, res)
	return res
}

// wantUsage checks a GPT image answer's usage for a prompt, a number of
// input images and of output images.
func wantUsage(t *testing.T, res *openai.ImagesResponse, prompt string, inputs, n int) {
	t.Helper()
	text := estimateTokens(len(prompt))
	in, out := text+inputs*imageTokens, n*imageOutputTokens
	u := res.Usage
	if !res.JSON.Usage.Valid() || u.InputTokens != int64(in) || u.OutputTokens != int64(out) || u.TotalTokens != int64(in+out) ||
		u.InputTokensDetails.TextTokens != int64(text) || u.InputTokensDetails.ImageTokens != int64(inputs*imageTokens) {
		t.Errorf("got usage %s, want %d in (%d text, %d image), %d out", u.RawJSON(), in, text, inputs*imageTokens, out)
	}
}

func TestImageEditGPTImage(t *testing.T) {
	s, _, _, oa := imageSim(t)
	prompt := "paint the caboose green"

	t.Run("one image", func(t *testing.T) {
		var hr *http.Response
		res := edit(t, oa, openai.ImageEditParams{Model: "sim-image", Prompt: prompt, Image: oneImage(editPNG)}, oaoption.WithResponseInto(&hr))
		if id := hr.Header.Get("x-request-id"); !strings.HasPrefix(id, "req_") {
			t.Errorf("got x-request-id %q, want req_...", id)
		}
		if res.Created == 0 || len(res.Data) != 1 || res.Size != defaultImageSize || res.Quality != defaultQuality || res.OutputFormat != "png" {
			t.Fatalf("got %s, want one image, size %s, quality %s, png", res.RawJSON(), defaultImageSize, defaultQuality)
		}
		wantUsage(t, res, prompt, 1, 1)
		d := res.Data[0]
		if d.JSON.URL.Valid() || d.JSON.RevisedPrompt.Valid() {
			t.Errorf("got %s, want b64_json alone", d.RawJSON())
		}
		b := b64Image(t, d)
		decodePNG(t, b)
		if want := drawImage("sim-image", prompt, inputsKey([][]byte{editPNG}), 0); !bytes.Equal(b, want) {
			t.Errorf("got other bytes than the image drawn for the request")
		}
	})

	t.Run("two images", func(t *testing.T) {
		res := edit(t, oa, openai.ImageEditParams{Model: "sim-image", Prompt: prompt, Image: imageArray(editPNG, editJPEG),
			N: openai.Int(2), Size: openai.ImageEditParamsSize1536x1024, Quality: openai.ImageEditParamsQualityHigh,
			ResponseFormat: openai.ImageEditParamsResponseFormatURL, Background: openai.ImageEditParamsBackgroundOpaque,
			InputFidelity: openai.ImageEditParamsInputFidelityHigh, OutputFormat: openai.ImageEditParamsOutputFormatPNG,
			OutputCompression: openai.Int(80), User: openai.String("u")})
		if res.Size != "1536x1024" || res.Quality != "high" || len(res.Data) != 2 {
			t.Fatalf("got %s, want size 1536x1024, quality high and two images", res.RawJSON())
		}
		wantUsage(t, res, prompt, 2, 2)
		a, b := b64Image(t, res.Data[0]), b64Image(t, res.Data[1])
		if decodePNG(t, a) == decodePNG(t, b) {
			t.Errorf("got the same image twice for n=2")
		}
	})

	t.Run("webp and a mask", func(t *testing.T) {
		res := edit(t, oa, openai.ImageEditParams{Model: "sim-image", Prompt: prompt, Image: oneImage(editWEBP),
			Mask: openai.File(bytes.NewReader(editPNG2), "mask.png", "image/png")})
		wantUsage(t, res, prompt, 1, 1)
		decodePNG(t, b64Image(t, res.Data[0]))
	})

	for i, c := range s.Calls("sim-image") {
		if c.Path != "/v1/images/edits" || c.Status != http.StatusOK || c.Stream || c.Fault != "" {
			t.Errorf("call %d: got %+v, want a 200 on /v1/images/edits", i, c)
		}
	}
}

func TestImageEditDallE(t *testing.T) {
	s, url, c, oa := imageSim(t)
	prompt := "add a signal box"

	res := edit(t, oa, openai.ImageEditParams{Model: "sim-dalle", Prompt: prompt, Image: oneImage(editPNG),
		ResponseFormat: openai.ImageEditParamsResponseFormatURL, Size: openai.ImageEditParamsSize512x512})
	if res.JSON.Usage.Valid() || res.JSON.Size.Valid() || res.JSON.Quality.Valid() || len(res.Data) != 1 {
		t.Fatalf("got %s, want one image and no usage, size or quality", res.RawJSON())
	}
	d := res.Data[0]
	if d.JSON.B64JSON.Valid() || d.JSON.RevisedPrompt.Valid() || !strings.HasPrefix(d.URL, url+imagePath) || !strings.HasSuffix(d.URL, ".png") {
		t.Fatalf("got %s, want a url on the simulator and no revised_prompt", d.RawJSON())
	}
	resp, err := c.Get(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET %s: %d %q %v, want a 200 image/png", d.URL, resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	decodePNG(t, got)

	// The same edit as b64_json, the image as a one-element image[].
	res = edit(t, oa, openai.ImageEditParams{Model: "sim-dalle", Prompt: prompt, Image: imageArray(editPNG),
		ResponseFormat: openai.ImageEditParamsResponseFormatB64JSON})
	d = res.Data[0]
	if res.JSON.Usage.Valid() || d.JSON.URL.Valid() || d.JSON.RevisedPrompt.Valid() {
		t.Errorf("got %s, want b64_json alone, no usage", res.RawJSON())
	}
	if !bytes.Equal(b64Image(t, d), got) {
		t.Errorf("got other bytes as b64_json than by url")
	}

	for i, c := range s.Calls("sim-dalle") {
		if c.Path != "/v1/images/edits" || c.Status != http.StatusOK {
			t.Errorf("call %d: got %+v, want a 200 on /v1/images/edits", i, c)
		}
	}
}

func TestImageEditDeterministic(t *testing.T) {
	_, _, _, oa := imageSim(t)
	prompt := "make it night"
	first := func(p openai.ImageEditParams) []byte {
		t.Helper()
		return b64Image(t, edit(t, oa, p).Data[0])
	}
	base := first(openai.ImageEditParams{Model: "sim-image", Prompt: prompt, Image: oneImage(editPNG)})
	for _, tt := range []struct {
		name   string
		params openai.ImageEditParams
		same   bool
	}{
		{"same request", openai.ImageEditParams{Model: "sim-image", Prompt: prompt, Image: oneImage(editPNG)}, true},
		{"same image as image[]", openai.ImageEditParams{Model: "sim-image", Prompt: prompt, Image: imageArray(editPNG)}, true},
		{"mask left out of the colour", openai.ImageEditParams{Model: "sim-image", Prompt: prompt, Image: oneImage(editPNG),
			Mask: bytes.NewReader(editPNG2)}, true},
		{"another image", openai.ImageEditParams{Model: "sim-image", Prompt: prompt, Image: oneImage(editPNG2)}, false},
		{"another image too", openai.ImageEditParams{Model: "sim-image", Prompt: prompt, Image: imageArray(editPNG, editPNG2)}, false},
		{"images swapped", openai.ImageEditParams{Model: "sim-image", Prompt: prompt, Image: imageArray(editPNG2, editPNG)}, false},
		{"another prompt", openai.ImageEditParams{Model: "sim-image", Prompt: prompt + "!", Image: oneImage(editPNG)}, false},
	} {
		if got := first(tt.params); bytes.Equal(got, base) != tt.same {
			t.Errorf("%s: got equal %v, want %v", tt.name, !tt.same, tt.same)
		}
	}
	if bytes.Equal(first(openai.ImageEditParams{Model: "sim-image", Prompt: prompt, Image: imageArray(editPNG, editPNG2)}),
		first(openai.ImageEditParams{Model: "sim-image", Prompt: prompt, Image: imageArray(editPNG2, editPNG)})) {
		t.Errorf("got the same image for the inputs in another order")
	}
	gen, err := oa.Images.Generate(t.Context(), openai.ImageGenerateParams{Model: "sim-image", Prompt: prompt})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(b64Image(t, gen.Data[0]), base) {
		t.Errorf("got an edit's image equal to the generation of its prompt")
	}
}

func TestImageEditErrors(t *testing.T) {
	s, _, _, oa := imageSim(t, Model{Name: "tiny-image", ContextWindow: 90})
	ctx := t.Context()
	ok := func(model string) openai.ImageEditParams {
		return openai.ImageEditParams{Model: model, Prompt: "hi", Image: oneImage(editPNG)}
	}
	with := func(p openai.ImageEditParams, f func(*openai.ImageEditParams)) openai.ImageEditParams {
		f(&p)
		return p
	}
	extra := func(p openai.ImageEditParams, fields map[string]any) openai.ImageEditParams {
		p.SetExtraFields(fields)
		return p
	}
	seventeen := make([][]byte, maxEditImages+1)
	for i := range seventeen {
		seventeen[i] = editPNG
	}
	gptTypes := "Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'."
	tests := []struct {
		name   string
		params openai.ImageEditParams
		status int
		code   string
		msg    string
		param  string
	}{
		{"forbidden", with(ok("sim-image"), func(p *openai.ImageEditParams) { p.Prompt = "a Forbidden yard" }), 400,
			"content_policy_violation", "Your request was rejected as a result of our safety system.", ""},
		{"forbidden dall-e", with(ok("sim-dalle"), func(p *openai.ImageEditParams) { p.Prompt = "FORBIDDEN" }), 400,
			"content_policy_violation", "safety system", ""},
		{"not an image", with(ok("sim-image"), func(p *openai.ImageEditParams) { p.Image = oneImage([]byte("hello, yard")) }), 400,
			"unsupported_file_mimetype", "Invalid file 'image': unsupported mimetype ('text/plain'). " + gptTypes, "image"},
		{"second image not an image", with(ok("sim-image"), func(p *openai.ImageEditParams) { p.Image = imageArray(editPNG, []byte("%PDF-1.7")) }), 400,
			"unsupported_file_mimetype", "Invalid file 'image[1]': unsupported mimetype ('application/pdf'). " + gptTypes, "image[1]"},
		{"dall-e jpeg", with(ok("sim-dalle"), func(p *openai.ImageEditParams) { p.Image = oneImage(editJPEG) }), 400,
			"unsupported_file_mimetype", "Invalid file 'image': unsupported mimetype ('image/jpeg'). Supported file formats are 'image/png'.", "image"},
		{"dall-e two images", with(ok("sim-dalle"), func(p *openai.ImageEditParams) { p.Image = imageArray(editPNG, editPNG) }), 400,
			"array_above_max_length", "Invalid 'image': array too long. Expected an array with maximum length 1, but got an array with length 2 instead.", "image"},
		{"seventeen images", with(ok("sim-image"), func(p *openai.ImageEditParams) { p.Image = imageArray(seventeen...) }), 400,
			"array_above_max_length", "Expected an array with maximum length 16, but got an array with length 17 instead.", "image"},
		{"jpeg mask", with(ok("sim-image"), func(p *openai.ImageEditParams) { p.Mask = bytes.NewReader(editJPEG) }), 400,
			"unsupported_file_mimetype", "Invalid file 'mask': unsupported mimetype ('image/jpeg'). Supported file formats are 'image/png'.", "mask"},
		{"no image", openai.ImageEditParams{Model: "sim-image", Prompt: "hi"}, 400, "", "Missing required parameter: 'image'.", "image"},
		{"empty prompt", with(ok("sim-image"), func(p *openai.ImageEditParams) { p.Prompt = "" }), 400, "", "Invalid 'prompt': string too short.", ""},
		{"no model", ok(""), 400, "", "you must provide a model parameter", ""},
		{"unknown model", ok("nope"), 404, "model_not_found", "The model `nope` does not exist", ""},
		{"n too large", with(ok("sim-image"), func(p *openai.ImageEditParams) { p.N = openai.Int(11) }), 400, "",
			"Invalid 'n': integer above maximum value. Expected a value <= 10, but got 11 instead.", ""},
		{"n not a number", extra(ok("sim-image"), map[string]any{"n": "two"}), 400, "",
			"Invalid type for 'n': expected an integer, but got a string instead.", ""},
		{"bad response_format", with(ok("sim-dalle"), func(p *openai.ImageEditParams) { p.ResponseFormat = "png" }), 400, "",
			"Invalid value: 'png'. Supported values are: 'url' and 'b64_json'.", ""},
		{"dall-e stream", extra(ok("sim-dalle"), map[string]any{"stream": "true"}), 400, "", "stream is only supported for gpt-image models.", "stream"},
		{"unknown field", extra(ok("sim-image"), map[string]any{"seed": "1"}), 400, "", "Unrecognized request argument supplied: seed", ""},
		{"too many partial images", with(extra(ok("sim-image"), map[string]any{"stream": "true"}), func(p *openai.ImageEditParams) { p.PartialImages = openai.Int(4) }), 400, "",
			"Invalid 'partial_images': integer above maximum value. Expected a value <= 3, but got 4 instead.", "partial_images"},
		{"context window", with(ok("tiny-image"), func(p *openai.ImageEditParams) { p.Prompt = strings.Repeat("long ", 5) }), 400,
			"context_length_exceeded", "maximum context length is 90 tokens. However, your messages resulted in 92 tokens.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := oa.Images.Edit(ctx, tt.params)
			wantAPIError(t, err, tt.status, tt.code, tt.msg)
			var apiErr *openai.Error
			if errors.As(err, &apiErr) && tt.param != "" && apiErr.Param != tt.param {
				t.Errorf("got param %q, want %q", apiErr.Param, tt.param)
			}
		})
	}

	t.Run("stream recorded", func(t *testing.T) {
		var streamed int
		for _, c := range s.Calls("sim-image") {
			if c.Stream {
				streamed++
			}
		}
		if streamed != 1 {
			t.Errorf("got %d calls with the stream flag, want 1", streamed)
		}
	})

	t.Run("fault", func(t *testing.T) {
		wantInjected429(t, s, "sim-image", "/v1/images/edits", func() error {
			_, err := oa.Images.Edit(ctx, ok("sim-image"), oaoption.WithHeader("X-Sim-Fault", "status;status=429"))
			return err
		})
	})

	t.Run("too large", func(t *testing.T) {
		_, err := oa.Images.Edit(ctx, openai.ImageEditParams{Model: "sim-image", Prompt: "hi", Image: oneImage(make([]byte, maxFormBody))})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusRequestEntityTooLarge || apiErr.Type != "server_error" ||
			!strings.HasPrefix(apiErr.Message, "Maximum content size limit (26214400) exceeded (") {
			t.Fatalf("got %v, want OpenAI's 413", err)
		}
		// The image comes first, so the model was never read.
		calls := s.Calls("")
		if len(calls) == 0 {
			t.Fatal("got no calls under no model")
		}
		if c := calls[len(calls)-1]; c.Status != http.StatusRequestEntityTooLarge || c.Path != "/v1/images/edits" {
			t.Errorf("got call %+v under no model, want a 413", c)
		}
	})

	for i, c := range s.Calls("sim-image") {
		if c.Path != "/v1/images/edits" || c.Status == 0 || c.Status == http.StatusOK {
			t.Errorf("call %d: got %+v, want an error status on /v1/images/edits", i, c)
		}
	}
}

// formPart is one part of a raw multipart form.
type formPart struct {
	name, value string
	file        bool
}

// postParts sends a multipart form of parts in order. The caller closes
// the response.
func postParts(t *testing.T, ctx context.Context, c *http.Client, url string, parts ...formPart) *http.Response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.file {
			w, err = mw.CreateFormFile(p.name, "upload.bin")
		} else {
			w, err = mw.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, p.value)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return resp
}

func TestImageEditRaw(t *testing.T) {
	s, url, c, _ := imageSim(t)
	ctx := t.Context()
	endpoint := url + "/v1/images/edits"
	png := formPart{"image", string(editPNG), true}

	t.Run("gpt image answer shape", func(t *testing.T) {
		resp := postParts(t, ctx, c, endpoint, formPart{name: "model", value: "sim-image"}, formPart{name: "prompt", value: "hi"},
			png, formPart{"image", string(editWEBP), true})
		body := decode(t, resp)
		data, _ := body["data"].([]any)
		if resp.StatusCode != http.StatusOK || len(body) != 6 || len(data) != 1 || len(data[0].(map[string]any)) != 1 {
			t.Errorf("got %d %v, want created, data (one b64_json), size, quality, output_format and usage", resp.StatusCode, body)
		}
		// Repeated image parts are an array too.
		if d := get(body, "usage", "input_tokens_details"); len(d.(map[string]any)) != 2 || get(d, "image_tokens") != float64(2*imageTokens) {
			t.Errorf("got input_tokens_details %v, want text_tokens and image_tokens %d", d, 2*imageTokens)
		}
	})

	t.Run("dall-e answer shape", func(t *testing.T) {
		resp := postParts(t, ctx, c, endpoint, png, formPart{name: "model", value: "sim-dalle"}, formPart{name: "prompt", value: "hi"},
			formPart{name: "n", value: "3"}, formPart{"mask", string(editPNG2), true})
		body := decode(t, resp)
		data, _ := body["data"].([]any)
		if resp.StatusCode != http.StatusOK || len(body) != 2 || len(data) != 3 {
			t.Fatalf("got %d %v, want created and three data items", resp.StatusCode, body)
		}
		seen := map[any]bool{}
		for i, d := range data {
			item := d.(map[string]any)
			if len(item) != 1 || item["url"] == nil || seen[item["url"]] {
				t.Errorf("item %d: got %v, want a fresh url alone", i, item)
			}
			seen[item["url"]] = true
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		model, prompt := formPart{name: "model", value: "sim-image"}, formPart{name: "prompt", value: "hi"}
		tests := []struct {
			name   string
			send   func() *http.Response
			status int
			msg    string
		}{
			{"json body", func() *http.Response {
				return post(t, ctx, c, endpoint, map[string]any{"model": "sim-image", "prompt": "hi", "image": "x"})
			}, 400, "Invalid Content-Type header (application/json), expected multipart/form-data. (HINT: If you're using curl, you can pass -F 'image=@image.png'"},
			{"missing prompt", func() *http.Response { return postParts(t, ctx, c, endpoint, model, png) }, 400, "Missing required parameter: 'prompt'."},
			{"no image", func() *http.Response { return postParts(t, ctx, c, endpoint, model, prompt) }, 400, "Missing required parameter: 'image'."},
			{"empty image", func() *http.Response {
				return postParts(t, ctx, c, endpoint, model, prompt, formPart{"image", "", true})
			}, 400, "Invalid file 'image': unsupported mimetype"},
			{"unknown fields", func() *http.Response {
				return postParts(t, ctx, c, endpoint, model, prompt, png, formPart{name: "style", value: "vivid"}, formPart{"file", "x", true})
			}, 400, "Unrecognized request arguments supplied: file, style"},
			{"two masks", func() *http.Response {
				return postParts(t, ctx, c, endpoint, model, prompt, png, formPart{"mask", string(editPNG), true}, formPart{"mask", string(editPNG), true})
			}, 400, "Invalid type for 'mask': expected a file, but got an array instead."},
			{"compression a decimal", func() *http.Response {
				return postParts(t, ctx, c, endpoint, model, prompt, png, formPart{name: "output_compression", value: "50.5"})
			}, 400, "Invalid type for 'output_compression': expected an integer, but got a decimal instead."},
			{"stream not a boolean", func() *http.Response {
				return postParts(t, ctx, c, endpoint, model, prompt, png, formPart{name: "stream", value: "maybe"})
			}, 400, "Invalid type for 'stream': expected a boolean, but got 'maybe' instead."},
			{"too large, model first", func() *http.Response {
				return postParts(t, ctx, c, endpoint, model, prompt, formPart{"image", string(make([]byte, maxFormBody)), true})
			}, 413, "Maximum content size limit (26214400) exceeded ("},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := tt.send()
				body := decode(t, resp)
				msg, _ := get(body, "error", "message").(string)
				if resp.StatusCode != tt.status || !strings.HasPrefix(msg, tt.msg) {
					t.Errorf("got %d %v, want %d %q", resp.StatusCode, body, tt.status, tt.msg)
				}
			})
		}
		calls := s.Calls("sim-image")
		if c := calls[len(calls)-1]; c.Status != http.StatusRequestEntityTooLarge || c.Path != "/v1/images/edits" {
			t.Errorf("got last call %+v, want the 413 recorded under its model", c)
		}
	})
}

func TestImageType(t *testing.T) {
	for _, tt := range []struct {
		b    []byte
		want string
	}{
		{editPNG, "image/png"},
		{editJPEG, "image/jpeg"},
		{editWEBP, "image/webp"},
		{[]byte("GIF89a......"), "image/gif"},
		{[]byte("RIFF\x00\x00\x00\x00WAVEfmt "), "audio/wave"},
		{[]byte("plain words"), "text/plain"},
		{nil, "text/plain"},
	} {
		if got := imageType(tt.b); got != tt.want {
			t.Errorf("imageType(%q): got %q, want %q", tt.b[:min(len(tt.b), 12)], got, tt.want)
		}
	}
}
