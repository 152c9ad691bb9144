package sim

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	oaoption "github.com/openai/openai-go/v3/option"
)

// imageSim starts the sim for image tests: sim-image (GPT image style),
// sim-dalle (DALL·E style) and a small window image model. It returns the
// server, its base URL, a plain HTTP client and an OpenAI client.
func imageSim(t *testing.T, models ...Model) (*Server, string, *http.Client, openai.Client) {
	t.Helper()
	cfg := Config{Models: append([]Model{{Name: "sim-image", ContextWindow: 32768}, {Name: "sim-dalle", ContextWindow: 4000}}, models...)}
	s, url, c := startSim(t, cfg)
	oa := openai.NewClient(oaoption.WithBaseURL(url+"/v1"), oaoption.WithAPIKey("sk-test"),
		oaoption.WithMaxRetries(0), oaoption.WithHTTPClient(c))
	return s, url, c, oa
}

// decodePNG checks b is a PNG of imageSide pixels a side and returns its
// first pixel's colour.
func decodePNG(t *testing.T, b []byte) [4]uint32 {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode PNG: %v", err)
	}
	if r := img.Bounds(); r.Dx() != imageSide || r.Dy() != imageSide {
		t.Errorf("got a %dx%d image, want %dx%d", r.Dx(), r.Dy(), imageSide, imageSide)
	}
	r, g, b2, a := img.At(0, 0).RGBA()
	return [4]uint32{r, g, b2, a}
}

// b64Image decodes a b64_json item.
func b64Image(t *testing.T, img openai.Image) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(img.B64JSON)
	if err != nil || img.B64JSON == "" {
		t.Fatalf("got b64_json %q: %v", img.B64JSON, err)
	}
	return b
}

// noExtra checks the SDK knew every field of the answer.
func noExtra(t *testing.T, res *openai.ImagesResponse) {
	t.Helper()
	if len(res.JSON.ExtraFields) != 0 || len(res.Usage.JSON.ExtraFields) != 0 || len(res.Usage.InputTokensDetails.JSON.ExtraFields) != 0 {
		t.Errorf("got unexpected fields in %s", res.RawJSON())
	}
	for i, d := range res.Data {
		if len(d.JSON.ExtraFields) != 0 {
			t.Errorf("item %d: got unexpected fields in %s", i, d.RawJSON())
		}
	}
}

func TestImagesGPTImage(t *testing.T) {
	s, _, _, oa := imageSim(t)
	ctx := t.Context()
	prompt := "a red caboose at dusk"
	params := openai.ImageGenerateParams{Model: "sim-image", Prompt: prompt, N: openai.Int(2)}

	var hr *http.Response
	res, err := oa.Images.Generate(ctx, params, oaoption.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	noExtra(t, res)
	if id := hr.Header.Get("x-request-id"); !strings.HasPrefix(id, "req_") {
		t.Errorf("got x-request-id %q, want req_...", id)
	}
	if res.Created == 0 || len(res.Data) != 2 {
		t.Fatalf("got created %d, %d images; want a time and 2", res.Created, len(res.Data))
	}
	if res.Size != "1024x1024" || res.Quality != "medium" || res.OutputFormat != "png" {
		t.Errorf("got size %q quality %q format %q, want 1024x1024 medium png", res.Size, res.Quality, res.OutputFormat)
	}
	in := int64(estimateTokens(len(prompt)))
	u := res.Usage
	if !res.JSON.Usage.Valid() || u.InputTokens != in || u.OutputTokens != 2*imageOutputTokens || u.TotalTokens != in+2*imageOutputTokens ||
		u.InputTokensDetails.TextTokens != in || !u.InputTokensDetails.JSON.ImageTokens.Valid() || u.InputTokensDetails.ImageTokens != 0 {
		t.Errorf("got usage %s, want %d in, %d out, text %d, image 0", u.RawJSON(), in, 2*imageOutputTokens, in)
	}
	var imgs [][]byte
	for i, d := range res.Data {
		if d.JSON.URL.Valid() || d.JSON.RevisedPrompt.Valid() {
			t.Errorf("item %d: got %s, want b64_json alone", i, d.RawJSON())
		}
		imgs = append(imgs, b64Image(t, d))
	}
	if bytes.Equal(imgs[0], imgs[1]) || decodePNG(t, imgs[0]) == decodePNG(t, imgs[1]) {
		t.Errorf("got the same image twice for n=2")
	}

	again, err := oa.Images.Generate(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range again.Data {
		if !bytes.Equal(b64Image(t, d), imgs[i]) {
			t.Errorf("item %d: got other bytes for the same request", i)
		}
	}
	other, err := oa.Images.Generate(ctx, openai.ImageGenerateParams{Model: "sim-image", Prompt: prompt + "!"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(b64Image(t, other.Data[0]), imgs[0]) {
		t.Errorf("got the same image for another prompt")
	}

	t.Run("echoes size and quality, ignores response_format", func(t *testing.T) {
		res, err := oa.Images.Generate(ctx, openai.ImageGenerateParams{Model: "sim-image", Prompt: "x",
			Size: openai.ImageGenerateParamsSize1536x1024, Quality: openai.ImageGenerateParamsQualityHigh,
			ResponseFormat: openai.ImageGenerateParamsResponseFormatURL, Background: openai.ImageGenerateParamsBackgroundOpaque,
			OutputFormat: openai.ImageGenerateParamsOutputFormatPNG, Moderation: openai.ImageGenerateParamsModerationLow,
			User: openai.String("u")})
		if err != nil {
			t.Fatal(err)
		}
		if res.Size != "1536x1024" || res.Quality != "high" || len(res.Data) != 1 || res.Data[0].JSON.URL.Valid() {
			t.Errorf("got %s, want size 1536x1024, quality high and one b64_json", res.RawJSON())
		}
		decodePNG(t, b64Image(t, res.Data[0]))
	})

	for i, c := range s.Calls("sim-image") {
		if c.Path != "/v1/images/generations" || c.Status != http.StatusOK || c.Stream {
			t.Errorf("call %d: got %+v, want a 200 on /v1/images/generations", i, c)
		}
	}
}

func TestImagesDallE(t *testing.T) {
	s, url, c, oa := imageSim(t)
	ctx := t.Context()
	prompt := "a steam engine crossing a viaduct"

	t.Run("url", func(t *testing.T) {
		res, err := oa.Images.Generate(ctx, openai.ImageGenerateParams{Model: "sim-dalle", Prompt: prompt})
		if err != nil {
			t.Fatal(err)
		}
		noExtra(t, res)
		if res.JSON.Usage.Valid() || res.JSON.Size.Valid() || len(res.Data) != 1 {
			t.Fatalf("got %s, want one image and no usage", res.RawJSON())
		}
		d := res.Data[0]
		if d.JSON.B64JSON.Valid() || d.RevisedPrompt != prompt+revisedSuffix {
			t.Errorf("got %s, want a url and revised_prompt %q", d.RawJSON(), prompt+revisedSuffix)
		}
		if !strings.HasPrefix(d.URL, url+imagePath) || !strings.HasSuffix(d.URL, ".png") {
			t.Fatalf("got url %q, want %s%s....png", d.URL, url, imagePath)
		}
		resp, err := c.Get(d.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("GET %s: %d %q %v, want a 200 image/png", d.URL, resp.StatusCode, resp.Header.Get("Content-Type"), err)
		}
		decodePNG(t, b)
		if !bytes.Equal(b, drawImage("sim-dalle", prompt, "", 0)) {
			t.Errorf("got other bytes than the image drawn for the request")
		}

		// The same image as b64_json.
		res, err = oa.Images.Generate(ctx, openai.ImageGenerateParams{Model: "sim-dalle", Prompt: prompt,
			ResponseFormat: openai.ImageGenerateParamsResponseFormatB64JSON, Style: openai.ImageGenerateParamsStyleVivid})
		if err != nil {
			t.Fatal(err)
		}
		noExtra(t, res)
		d = res.Data[0]
		if res.JSON.Usage.Valid() || d.JSON.URL.Valid() || d.RevisedPrompt != prompt+revisedSuffix {
			t.Errorf("got %s, want b64_json and revised_prompt, no usage", res.RawJSON())
		}
		if !bytes.Equal(b64Image(t, d), b) {
			t.Errorf("got other bytes as b64_json than by url")
		}
	})

	t.Run("unknown file", func(t *testing.T) {
		for _, name := range []string{"img-nope.png", "nope"} {
			resp, err := c.Get(url + imagePath + name)
			if err != nil {
				t.Fatal(err)
			}
			body := decode(t, resp)
			if resp.StatusCode != http.StatusNotFound || get(body, "error", "type") != "invalid_request_error" ||
				!strings.Contains(get(body, "error", "message").(string), name) {
				t.Errorf("GET %s: got %d %v, want a 404 in OpenAI's shape", name, resp.StatusCode, body)
			}
		}
	})

	// The GETs are no calls.
	if calls := s.Calls(""); len(calls) != 0 {
		t.Errorf("got calls %+v under no model, want none", calls)
	}
	for i, c := range s.Calls("sim-dalle") {
		if c.Path != "/v1/images/generations" || c.Status != http.StatusOK {
			t.Errorf("call %d: got %+v, want a 200 on /v1/images/generations", i, c)
		}
	}
}

func TestImagesErrors(t *testing.T) {
	s, _, _, oa := imageSim(t, Model{Name: "tiny-image", ContextWindow: 5})
	ctx := t.Context()
	params := func(model, prompt string) openai.ImageGenerateParams {
		return openai.ImageGenerateParams{Model: model, Prompt: prompt}
	}
	tests := []struct {
		name   string
		params openai.ImageGenerateParams
		opts   []oaoption.RequestOption
		status int
		code   string
		msg    string
	}{
		{"forbidden", params("sim-image", "a Forbidden picture"), nil, 400, "content_policy_violation", "Your request was rejected as a result of our safety system."},
		{"forbidden dall-e", params("sim-dalle", "FORBIDDEN"), nil, 400, "content_policy_violation", "safety system"},
		{"unknown model", params("nope", "hi"), nil, 404, "model_not_found", "The model `nope` does not exist"},
		{"empty prompt", params("sim-image", ""), nil, 400, "", "Invalid 'prompt': string too short."},
		{"missing prompt", params("sim-image", "x"), []oaoption.RequestOption{oaoption.WithJSONDel("prompt")}, 400, "", "Missing required parameter: 'prompt'."},
		{"prompt not a string", params("sim-image", "x"), []oaoption.RequestOption{oaoption.WithJSONSet("prompt", 3)}, 400, "", "Invalid type for 'prompt': expected a string, but got an integer instead."},
		{"missing model", params("", "hi"), nil, 400, "", "you must provide a model parameter"},
		{"n too large", openai.ImageGenerateParams{Model: "sim-image", Prompt: "hi", N: openai.Int(11)}, nil, 400, "",
			"Invalid 'n': integer above maximum value. Expected a value <= 10, but got 11 instead."},
		{"n zero", openai.ImageGenerateParams{Model: "sim-image", Prompt: "hi", N: openai.Int(0)}, nil, 400, "",
			"Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 instead."},
		{"n not an integer", params("sim-image", "hi"), []oaoption.RequestOption{oaoption.WithJSONSet("n", 1.5)}, 400, "",
			"Invalid type for 'n': expected an integer, but got a decimal instead."},
		{"bad response_format", params("sim-dalle", "hi"), []oaoption.RequestOption{oaoption.WithJSONSet("response_format", "png")}, 400, "",
			"Invalid value: 'png'. Supported values are: 'url' and 'b64_json'."},
		{"unknown field", params("sim-image", "hi"), []oaoption.RequestOption{oaoption.WithJSONSet("temperature", 0.5)}, 400, "",
			"Unrecognized request argument supplied: temperature"},
		{"context window", params("tiny-image", strings.Repeat("long ", 10)), nil, 400, "context_length_exceeded", "maximum context length is 5 tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := oa.Images.Generate(ctx, tt.params, tt.opts...)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("got %v, want *openai.Error", err)
			}
			if apiErr.StatusCode != tt.status || apiErr.Code != tt.code || apiErr.Type != "invalid_request_error" || !strings.Contains(apiErr.Message, tt.msg) {
				t.Errorf("got %d %q %q %q, want %d %q invalid_request_error containing %q", apiErr.StatusCode, apiErr.Code, apiErr.Type, apiErr.Message, tt.status, tt.code, tt.msg)
			}
			if !apiErr.JSON.Param.Valid() && apiErr.JSON.Param.Raw() != "null" {
				t.Errorf("got error %s, want a param field", apiErr.RawJSON())
			}
		})
	}

	t.Run("fault", func(t *testing.T) {
		wantInjected429(t, s, "sim-image", "/v1/images/generations", func() error {
			_, err := oa.Images.Generate(ctx, params("sim-image", "hi"), oaoption.WithHeader("X-Sim-Fault", "status;status=429"))
			return err
		})
	})

	t.Run("recorded", func(t *testing.T) {
		calls := s.Calls("sim-image")
		if len(calls) == 0 {
			t.Fatal("got no calls for sim-image")
		}
		for i, c := range calls {
			if c.Path != "/v1/images/generations" || c.Status == 0 || c.Status == http.StatusOK {
				t.Errorf("call %d: got %+v, want an error status on /v1/images/generations", i, c)
			}
		}
		if calls := s.Calls("nope"); len(calls) != 1 || calls[0].Status != http.StatusNotFound {
			t.Errorf("got calls %+v for an unknown model, want one 404", calls)
		}
	})
}

func TestImagesRaw(t *testing.T) {
	_, url, c, _ := imageSim(t)
	ctx := t.Context()
	endpoint := url + "/v1/images/generations"

	t.Run("policy error shape", func(t *testing.T) {
		resp := post(t, ctx, c, endpoint, map[string]any{"model": "sim-image", "prompt": "forbidden"})
		body := decode(t, resp)
		e, _ := body["error"].(map[string]any)
		if resp.StatusCode != http.StatusBadRequest || len(e) != 4 || e["type"] != "invalid_request_error" ||
			e["code"] != "content_policy_violation" || e["param"] != nil || !strings.HasPrefix(e["message"].(string), "Your request was rejected as a result of our safety system.") {
			t.Errorf("got %d %v, want 400 content_policy_violation with param null", resp.StatusCode, body)
		}
	})

	t.Run("gpt image answer shape", func(t *testing.T) {
		resp := post(t, ctx, c, endpoint, map[string]any{"model": "sim-image", "prompt": "hi", "quality": "auto", "size": "auto", "n": nil})
		body := decode(t, resp)
		data, _ := body["data"].([]any)
		if resp.StatusCode != http.StatusOK || len(body) != 6 || len(data) != 1 || len(data[0].(map[string]any)) != 1 ||
			body["size"] != defaultImageSize || body["quality"] != defaultQuality || body["output_format"] != "png" {
			t.Errorf("got %d %v, want created, data (one b64_json), size, quality, output_format and usage", resp.StatusCode, body)
		}
		if d := get(body, "usage", "input_tokens_details"); len(d.(map[string]any)) != 2 {
			t.Errorf("got input_tokens_details %v, want text_tokens and image_tokens", d)
		}
	})

	t.Run("dall-e answer shape", func(t *testing.T) {
		resp := post(t, ctx, c, endpoint, map[string]any{"model": "sim-dalle", "prompt": "hi", "n": 3, "response_format": "url"})
		body := decode(t, resp)
		data, _ := body["data"].([]any)
		if resp.StatusCode != http.StatusOK || len(body) != 2 || len(data) != 3 {
			t.Fatalf("got %d %v, want created and three data items", resp.StatusCode, body)
		}
		seen := map[any]bool{}
		for i, d := range data {
			item := d.(map[string]any)
			if len(item) != 2 || item["revised_prompt"] != "hi"+revisedSuffix || seen[item["url"]] {
				t.Errorf("item %d: got %v, want a fresh url and the revised prompt", i, item)
			}
			seen[item["url"]] = true
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		tests := []struct {
			name string
			body any
			msg  string
		}{
			{"malformed", []byte(`{"prompt": "x"`), "We could not parse the JSON body of your request."},
			{"model not a string", map[string]any{"model": 3, "prompt": "x"}, "Invalid type for 'model': expected a string, but got an integer instead."},
			{"size not a string", map[string]any{"model": "sim-image", "prompt": "x", "size": 1024}, "Invalid type for 'size': expected a string, but got an integer instead."},
			{"compression too high", map[string]any{"model": "sim-image", "prompt": "x", "output_compression": 101}, "Invalid 'output_compression': integer above maximum value. Expected a value <= 100, but got 101 instead."},
			{"unknown fields", map[string]any{"model": "sim-image", "prompt": "x", "stream": true, "seed": 1, "steps": 20}, "Unrecognized request arguments supplied: seed, steps"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := post(t, ctx, c, endpoint, tt.body)
				body := decode(t, resp)
				msg, _ := get(body, "error", "message").(string)
				if resp.StatusCode != http.StatusBadRequest || get(body, "error", "type") != "invalid_request_error" || !strings.HasPrefix(msg, tt.msg) {
					t.Errorf("got %d %v, want 400 invalid_request_error %q", resp.StatusCode, body, tt.msg)
				}
			})
		}
	})
}

func TestImageFilesBounded(t *testing.T) {
	var f imageFiles
	for i := range maxImageFiles + 1 {
		f.put(string(rune('a'+i%26))+strings.Repeat("x", i/26), []byte{byte(i)})
	}
	if _, ok := f.get("a"); ok {
		t.Errorf("got the oldest image kept, want it forgotten")
	}
	if len(f.files) != maxImageFiles || len(f.order) != maxImageFiles {
		t.Errorf("got %d files, %d ids; want %d", len(f.files), len(f.order), maxImageFiles)
	}
	if b, ok := f.get(f.order[len(f.order)-1]); !ok || b[0] != byte(maxImageFiles%256) {
		t.Errorf("got newest %v %v, want kept", b, ok)
	}
}

func TestDefaultImageModels(t *testing.T) {
	_, url, c := startSim(t, DefaultConfig())
	for _, tt := range []struct {
		model string
		usage bool
	}{{"sim-image", true}, {"sim-dalle", false}} {
		resp := post(t, t.Context(), c, url+"/v1/images/generations", map[string]any{"model": tt.model, "prompt": "a yard"})
		body := decode(t, resp)
		if _, ok := body["usage"]; resp.StatusCode != http.StatusOK || ok != tt.usage {
			t.Errorf("%s: got %d %v, want 200 with usage %v", tt.model, resp.StatusCode, body, tt.usage)
		}
	}
}
