package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/sim"
)

// imageDeployments are a gpt-image-style deployment priced by tokens, a
// DALL-E-style one priced per image, one always failing, and a route
// that falls back from it.
const imageDeployments = `  - name: image
    provider: sim-openai
    model: sim-image
    price: {input_per_mtok: 5, output_per_mtok: 40}
    capabilities: {chat: false, images: true}
  - name: dalle
    provider: sim-openai
    model: sim-dalle
    price: {per_image: 0.04}
    capabilities: {chat: false, images: true}
  - name: image-down
    provider: sim-openai
    model: sim-image-down
    capabilities: {chat: false, images: true}
routes:
  - name: images
    targets: [image-down, dalle]
`

// TestImages: the OpenAI SDK's image generation is relayed to deployments
// that generate images, the answer verbatim: priced by the tokens a
// gpt-image model reports, or per image; without a model the first such
// deployment answers; a failing one fails over; edits and variations go
// as the SDK's forms; the provider's refusal and a deployment that does
// not generate images are 400s.
func TestImages(t *testing.T) {
	simCfg := fastSim()
	simCfg.Models = append(simCfg.Models, sim.Model{Name: "sim-image-down", ContextWindow: 8192, Faults: []sim.Fault{{Type: sim.FaultStatus, Status: 503}}})
	cfg := strings.Replace(baseConfig, "routes:\n", imageDeployments, 1)
	s := startStack(t, simCfg, cfg)
	ctx := context.Background()
	oa := s.openai()
	cost := func(hr *http.Response) float64 {
		c, _ := strconv.ParseFloat(hr.Header.Get("X-Switchyard-Cost"), 64)
		return c
	}

	var hr *http.Response
	got, err := oa.Images.Generate(ctx, openai.ImageGenerateParams{Model: "image", Prompt: "a red train crossing a bridge", N: openai.Int(2)}, option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != 2 || got.Usage.OutputTokens == 0 {
		t.Fatalf("gpt-image: %d images, usage %+v", len(got.Data), got.Usage)
	}
	got0 := got
	for i, d := range got.Data {
		b, err := base64.StdEncoding.DecodeString(d.B64JSON)
		if err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("image %d is not a PNG: %v", i, err)
		}
	}
	want := (float64(got.Usage.InputTokens)*5 + float64(got.Usage.OutputTokens)*40) / 1e6
	if c := cost(hr); c < want*0.999 || c > want*1.001 || hr.Header.Get("X-Switchyard-Deployment") != "image" {
		t.Errorf("gpt-image cost %v, want %v for its tokens; headers %v", c, want, hr.Header)
	}

	// Priced per image; a URL the client can fetch.
	got, err = oa.Images.Generate(ctx, openai.ImageGenerateParams{Model: "dalle", Prompt: "a blue train", N: openai.Int(3)}, option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != 3 || got.Data[0].URL == "" || cost(hr) != 0.12 {
		t.Errorf("dall-e: %d images, url %q, cost %v (want 3 × 0.04)", len(got.Data), got.Data[0].URL, cost(hr))
	}

	// No model: the first deployment that generates images. A route
	// falls back from a failing one.
	resp, body := s.post("/v1/images/generations", `{"prompt":"a green train"}`)
	if resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Deployment") != "image" {
		t.Errorf("no model: %d %s, served by %q", resp.StatusCode, body, resp.Header.Get("X-Switchyard-Deployment"))
	}
	_, err = oa.Images.Generate(ctx, openai.ImageGenerateParams{Model: "images", Prompt: "a train"}, option.WithResponseInto(&hr))
	if err != nil || hr.Header.Get("X-Switchyard-Deployment") != "dalle" || hr.Header.Get("X-Switchyard-Attempts") == "1" {
		t.Errorf("fail-over: %v, headers %v", err, hr.Header)
	}

	// Edits: the generated image, then two of them, sent back as the
	// SDK's multipart form.
	first, _ := base64.StdEncoding.DecodeString(got0.Data[0].B64JSON)
	second, _ := base64.StdEncoding.DecodeString(got0.Data[1].B64JSON)
	for _, image := range []openai.ImageEditParamsImageUnion{
		{OfFile: openai.File(bytes.NewReader(first), "train.png", "image/png")},
		{OfFileArray: []io.Reader{openai.File(bytes.NewReader(first), "a.png", "image/png"), openai.File(bytes.NewReader(second), "b.png", "image/png")}},
	} {
		edit, err := oa.Images.Edit(ctx, openai.ImageEditParams{Model: "image", Image: image, Prompt: "make it blue"}, option.WithResponseInto(&hr))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := base64.StdEncoding.DecodeString(edit.Data[0].B64JSON)
		if _, err := png.Decode(bytes.NewReader(b)); err != nil || bytes.Equal(b, first) || edit.Usage.InputTokens == 0 {
			t.Errorf("edit: %v, usage %+v", err, edit.Usage)
		}
		want := (float64(edit.Usage.InputTokens)*5 + float64(edit.Usage.OutputTokens)*40) / 1e6
		if c := cost(hr); c < want*0.999 || c > want*1.001 || hr.Header.Get("X-Switchyard-Deployment") != "image" {
			t.Errorf("edit cost %v, want %v; headers %v", c, want, hr.Header)
		}
	}

	// Variations (DALL-E 2), priced per image; a gpt-image deployment's
	// refusal reaches the client.
	vars, err := oa.Images.NewVariation(ctx, openai.ImageNewVariationParams{Model: "dalle", Image: openai.File(bytes.NewReader(first), "train.png", "image/png"),
		N: openai.Int(2), ResponseFormat: openai.ImageNewVariationParamsResponseFormatB64JSON}, option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range vars.Data {
		b, _ := base64.StdEncoding.DecodeString(d.B64JSON)
		if _, err := png.Decode(bytes.NewReader(b)); err != nil || bytes.Equal(b, first) {
			t.Errorf("variation %d: %v, or the input itself", i, err)
		}
	}
	if len(vars.Data) != 2 || cost(hr) != 0.08 || hr.Header.Get("X-Switchyard-Deployment") != "dalle" {
		t.Errorf("variations: %d images, cost %v (want 2 × 0.04), headers %v", len(vars.Data), cost(hr), hr.Header)
	}
	_, err = oa.Images.NewVariation(ctx, openai.ImageNewVariationParams{Model: "image", Image: openai.File(bytes.NewReader(first), "train.png", "image/png")})
	if ae := (*openai.Error)(nil); !errors.As(err, &ae) || ae.StatusCode != 400 || !strings.Contains(ae.Message, "dall-e-2") {
		t.Errorf("a variation from gpt-image: %v, want its 400", err)
	}
	// Without a model, a variation goes to the first DALL-E deployment,
	// though a gpt-image one comes first in the config.
	vars, err = oa.Images.NewVariation(ctx, openai.ImageNewVariationParams{Image: openai.File(bytes.NewReader(first), "train.png", "image/png")}, option.WithResponseInto(&hr))
	if err != nil || len(vars.Data) != 1 || hr.Header.Get("X-Switchyard-Deployment") != "dalle" {
		t.Errorf("a variation without a model: %v, headers %v", err, hr.Header)
	}

	for _, tc := range []struct {
		params openai.ImageGenerateParams
		says   string
	}{
		{openai.ImageGenerateParams{Model: "image", Prompt: "something forbidden"}, "safety system"},
		{openai.ImageGenerateParams{Model: "medium", Prompt: "a train"}, "supports images"},
		{openai.ImageGenerateParams{Model: "image", Prompt: "a train", N: openai.Int(11)}, "n must be"},
	} {
		_, err := oa.Images.Generate(ctx, tc.params)
		var ae *openai.Error
		if !errors.As(err, &ae) || ae.StatusCode != 400 || !strings.Contains(ae.Message, tc.says) {
			t.Errorf("%s: %v (%q), want a 400 saying %q", tc.params.Prompt, err, ae.Message, tc.says)
		}
	}
}
