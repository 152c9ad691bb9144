package sim

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	oaoption "github.com/openai/openai-go/v3/option"
)

// variationsPath is the endpoint under test.
const variationsPath = "/v1/images/variations"

// pngOf is a PNG of w by h transparent pixels.
func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewNRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// variationImages checks a 200 variation answer holds created and data
// alone, n items of one field each (key: url or b64_json), and returns
// the items' values.
func variationImages(t *testing.T, resp *http.Response, key string, n int) []string {
	t.Helper()
	body := decode(t, resp)
	data, _ := body["data"].([]any)
	if resp.StatusCode != http.StatusOK || len(body) != 2 || body["created"] == nil || len(data) != n {
		t.Fatalf("got %d %v, want created and %d data items alone", resp.StatusCode, body, n)
	}
	vals := make([]string, n)
	for i, d := range data {
		item, _ := d.(map[string]any)
		v, ok := item[key].(string)
		if len(item) != 1 || !ok || v == "" {
			t.Fatalf("item %d: got %v, want %s alone", i, item, key)
		}
		vals[i] = v
	}
	return vals
}

// b64PNGs decodes b64_json values, checking each is one of the
// simulator's PNGs.
func b64PNGs(t *testing.T, vals []string) [][]byte {
	t.Helper()
	imgs := make([][]byte, len(vals))
	for i, v := range vals {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		decodePNG(t, b)
		imgs[i] = b
	}
	return imgs
}

func TestImageVariationB64JSON(t *testing.T) {
	s, url, c, _ := imageSim(t)
	ctx := t.Context()
	vary := func(img []byte) [][]byte {
		t.Helper()
		resp := postParts(t, ctx, c, url+variationsPath, formPart{"image", string(img), true},
			formPart{name: "model", value: "sim-dalle"}, formPart{name: "n", value: "2"},
			formPart{name: "response_format", value: "b64_json"}, formPart{name: "size", value: "256x256"},
			formPart{name: "user", value: "u"})
		return b64PNGs(t, variationImages(t, resp, "b64_json", 2))
	}

	imgs := vary(editPNG)
	if bytes.Equal(imgs[0], imgs[1]) {
		t.Errorf("got the same image twice for n=2")
	}
	for i, img := range imgs {
		if bytes.Equal(img, editPNG) {
			t.Errorf("item %d: got the input image back", i)
		}
		if want := drawImage("sim-dalle", "", inputsKey([][]byte{editPNG}), i); !bytes.Equal(img, want) {
			t.Errorf("item %d: got other bytes than the image drawn for the input", i)
		}
	}
	again := vary(editPNG)
	for i := range imgs {
		if !bytes.Equal(again[i], imgs[i]) {
			t.Errorf("item %d: got other bytes for the same input", i)
		}
	}
	other := vary(editPNG2)
	for i := range imgs {
		if bytes.Equal(other[i], imgs[i]) {
			t.Errorf("item %d: got the same image for another input", i)
		}
	}

	calls := s.Calls("sim-dalle")
	if len(calls) != 3 {
		t.Fatalf("got %d calls, want 3", len(calls))
	}
	for i, c := range calls {
		if c.Path != variationsPath || c.Status != http.StatusOK || c.Stream || c.Fault != "" {
			t.Errorf("call %d: got %+v, want a 200 on %s", i, c, variationsPath)
		}
	}
}

func TestImageVariationURL(t *testing.T) {
	_, url, c, _ := imageSim(t)
	ctx := t.Context()
	resp := postParts(t, ctx, c, url+variationsPath, formPart{"image", string(editPNG), true}, formPart{name: "model", value: "sim-dalle"})
	urls := variationImages(t, resp, "url", 1)
	if !strings.HasPrefix(urls[0], url+imagePath) || !strings.HasSuffix(urls[0], ".png") {
		t.Fatalf("got url %q, want one on the simulator", urls[0])
	}
	got, err := c.Get(urls[0])
	if err != nil {
		t.Fatal(err)
	}
	defer got.Body.Close()
	b, err := io.ReadAll(got.Body)
	if err != nil || got.StatusCode != http.StatusOK || got.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET %s: %d %q %v, want a 200 image/png", urls[0], got.StatusCode, got.Header.Get("Content-Type"), err)
	}
	decodePNG(t, b)
	if want := drawImage("sim-dalle", "", inputsKey([][]byte{editPNG}), 0); !bytes.Equal(b, want) {
		t.Errorf("got other bytes by url than the image drawn for the input")
	}
}

func TestImageVariationDefaultModel(t *testing.T) {
	s, url, c, _ := imageSim(t, Model{Name: defaultVariationModel, ContextWindow: 4000})
	resp := postParts(t, t.Context(), c, url+variationsPath, formPart{"image", string(editPNG), true})
	variationImages(t, resp, "url", 1) // a url, the default format
	if calls := s.Calls(defaultVariationModel); len(calls) != 1 || calls[0].Status != http.StatusOK || calls[0].Path != variationsPath {
		t.Errorf("got calls %+v under %s, want one 200", calls, defaultVariationModel)
	}
}

func TestImageVariationErrors(t *testing.T) {
	s, url, c, _ := imageSim(t, Model{Name: "tiny-dalle", ContextWindow: 10})
	ctx := t.Context()
	png := formPart{"image", string(editPNG), true}
	dalle := formPart{name: "model", value: "sim-dalle"}
	field := func(k, v string) formPart { return formPart{name: k, value: v} }
	file := func(b []byte) formPart { return formPart{"image", string(b), true} }
	tooLarge := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, maxVariationImage)...)
	mustPNG := "Uploaded image must be a PNG and less than 4 MB."
	tests := []struct {
		name   string
		parts  []formPart
		status int
		param  string
		code   string
		msg    string
	}{
		{"no image", []formPart{dalle}, 400, "image", "", "Missing required parameter: 'image'."},
		{"two images", []formPart{dalle, png, png}, 400, "image", "", "Invalid type for 'image': expected a file, but got an array instead."},
		{"jpeg", []formPart{dalle, file(editJPEG)}, 400, "image", "", mustPNG},
		{"empty image", []formPart{dalle, file(nil)}, 400, "image", "", mustPNG},
		{"broken png", []formPart{dalle, file([]byte("\x89PNG\r\n\x1a\nnot really"))}, 400, "image", "", mustPNG},
		{"4 MB", []formPart{dalle, file(tooLarge)}, 400, "image", "", mustPNG},
		{"not square", []formPart{dalle, file(pngOf(t, 8, 4))}, 400, "image", "", "Uploaded image must be square, but it is 8x4."},
		{"n zero", []formPart{dalle, png, field("n", "0")}, 400, "n", "",
			"Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 instead."},
		{"n eleven", []formPart{dalle, png, field("n", "11")}, 400, "n", "",
			"Invalid 'n': integer above maximum value. Expected a value <= 10, but got 11 instead."},
		{"n a word", []formPart{dalle, png, field("n", "two")}, 400, "n", "",
			"Invalid type for 'n': expected an integer, but got a string instead."},
		{"bad response_format", []formPart{dalle, png, field("response_format", "png")}, 400, "response_format", "",
			"Invalid value: 'png'. Supported values are: 'url' and 'b64_json'."},
		{"bad size", []formPart{dalle, png, field("size", "1536x1024")}, 400, "size", "",
			"Invalid value: '1536x1024'. Supported values are: '256x256', '512x512', and '1024x1024'."},
		{"gpt image model", []formPart{field("model", "sim-image"), png}, 400, "model", "",
			"Invalid model 'sim-image': image variations are only supported for dall-e-2."},
		{"stream", []formPart{dalle, png, field("stream", "false")}, 400, "", "", "Unrecognized request argument supplied: stream"},
		{"prompt", []formPart{dalle, png, field("prompt", "hi")}, 400, "", "", "Unrecognized request argument supplied: prompt"},
		{"mask", []formPart{dalle, png, {"mask", string(editPNG), true}}, 400, "", "", "Unrecognized request argument supplied: mask"},
		{"no model", []formPart{png}, 400, "", "", "you must provide a model parameter"},
		{"unknown model", []formPart{field("model", "nope"), png}, 404, "", "model_not_found", "The model `nope` does not exist"},
		{"context window", []formPart{field("model", "tiny-dalle"), png}, 400, "messages", "context_length_exceeded",
			"maximum context length is 10 tokens. However, your messages resulted in 86 tokens."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := postParts(t, ctx, c, url+variationsPath, tt.parts...)
			body := decode(t, resp)
			msg, _ := get(body, "error", "message").(string)
			param, _ := get(body, "error", "param").(string)
			code, _ := get(body, "error", "code").(string)
			if resp.StatusCode != tt.status || param != tt.param || code != tt.code || !strings.Contains(msg, tt.msg) ||
				get(body, "error", "type") != "invalid_request_error" {
				t.Errorf("got %d %v, want %d param %q code %q containing %q", resp.StatusCode, body, tt.status, tt.param, tt.code, tt.msg)
			}
		})
	}

	for _, model := range []string{"sim-dalle", "sim-image"} {
		for i, c := range s.Calls(model) {
			if c.Path != variationsPath || c.Status != http.StatusBadRequest || c.Stream {
				t.Errorf("%s call %d: got %+v, want a 400 on %s", model, i, c, variationsPath)
			}
		}
	}
}

func TestImageVariationSDK(t *testing.T) {
	s, _, _, oa := imageSim(t)
	ctx := t.Context()
	params := func() openai.ImageNewVariationParams {
		return openai.ImageNewVariationParams{Image: openai.File(bytes.NewReader(editPNG), "image.png", "image/png"),
			Model: "sim-dalle", N: openai.Int(2), ResponseFormat: openai.ImageNewVariationParamsResponseFormatB64JSON}
	}

	res, err := oa.Images.NewVariation(ctx, params())
	if err != nil {
		t.Fatal(err)
	}
	noExtra(t, res)
	if res.Created == 0 || len(res.Data) != 2 || res.JSON.Usage.Valid() || res.JSON.Size.Valid() {
		t.Fatalf("got %s, want two images and no usage or size", res.RawJSON())
	}
	a, b := b64Image(t, res.Data[0]), b64Image(t, res.Data[1])
	if decodePNG(t, a) == decodePNG(t, b) || res.Data[0].JSON.RevisedPrompt.Valid() {
		t.Errorf("got %s, want two images of different colours and no revised_prompt", res.RawJSON())
	}

	t.Run("gpt image model", func(t *testing.T) {
		p := params()
		p.Model = "sim-image"
		_, err := oa.Images.NewVariation(ctx, p)
		wantAPIError(t, err, http.StatusBadRequest, "", "only supported for dall-e-2")
		var apiErr *openai.Error
		if errors.As(err, &apiErr) && apiErr.Param != "model" {
			t.Errorf("got param %q, want model", apiErr.Param)
		}
	})

	t.Run("fault", func(t *testing.T) {
		wantInjected429(t, s, "sim-dalle", variationsPath, func() error {
			_, err := oa.Images.NewVariation(ctx, params(), oaoption.WithHeader("X-Sim-Fault", "status;status=429"))
			return err
		})
	})
}
