package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/sim"
)

// TestImageStreams: the SDK's streamed image generation and edit through
// the gateway. Partial images come, and one completed image per image
// asked for, each the same image the plain request gives; the cost
// trailer prices the usage of all of them; a stream cut after its first
// event reaches the client as an error, not as fewer images; a deployment
// that cannot stream images is a 400.
func TestImageStreams(t *testing.T) {
	cfg := strings.Replace(baseConfig, "routes:\n", imageDeployments, 1)
	cfg = strings.Replace(cfg, "routes:\n", `  - {name: image-each, provider: sim-openai, model: sim-image, price: {per_image: 0.01}, capabilities: {chat: false, images: true}}
routes:
`, 1)
	s := startStack(t, fastSim(), cfg)
	ctx := context.Background()
	oa := s.openai()
	params := openai.ImageGenerateParams{Model: "image", Prompt: "a night train in the snow", N: openai.Int(2), PartialImages: openai.Int(1)}

	plain, err := oa.Images.Generate(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	var hr *http.Response
	st := oa.Images.GenerateStreaming(ctx, params, option.WithResponseInto(&hr))
	var partials int
	var completed []openai.ImageGenStreamEventUnion
	for st.Next() {
		switch ev := st.Current(); ev.Type {
		case "image_generation.partial_image":
			partials++
		case "image_generation.completed":
			completed = append(completed, ev)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if partials != 2 || len(completed) != 2 {
		t.Fatalf("got %d partial and %d completed images, want 2 and 2", partials, len(completed))
	}
	var in, out int64
	for i, ev := range completed {
		b, err := base64.StdEncoding.DecodeString(ev.B64JSON)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil || ev.B64JSON != plain.Data[i].B64JSON {
			t.Errorf("completed image %d: %v, or not the plain answer's", i, err)
		}
		in, out = in+ev.Usage.InputTokens, out+ev.Usage.OutputTokens
	}
	if want := (float64(in)*5 + float64(out)*40) / 1e6; in == 0 || trailerCost(hr) < want*0.999 || trailerCost(hr) > want*1.001 {
		t.Errorf("streamed images cost %v, want %v for %d in and %d out tokens", trailerCost(hr), want, in, out)
	}

	// Priced per image: each image of a stream that completes.
	st = oa.Images.GenerateStreaming(ctx, openai.ImageGenerateParams{Model: "image-each", Prompt: "a train", N: openai.Int(3)}, option.WithResponseInto(&hr))
	for st.Next() {
	}
	st.Close()
	if st.Err() != nil || trailerCost(hr) != 0.03 {
		t.Errorf("three images at 0.01 each: %v, cost %v", st.Err(), trailerCost(hr))
	}

	// An edit streams too.
	img, _ := base64.StdEncoding.DecodeString(plain.Data[0].B64JSON)
	es := oa.Images.EditStreaming(ctx, openai.ImageEditParams{Model: "image", Prompt: "make it blue",
		Image: openai.ImageEditParamsImageUnion{OfFile: openai.File(bytes.NewReader(img), "train.png", "image/png")}})
	var edited string
	for es.Next() {
		if ev := es.Current(); ev.Type == "image_edit.completed" {
			edited = ev.B64JSON
		}
	}
	es.Close()
	if es.Err() != nil || edited == "" || edited == plain.Data[0].B64JSON {
		t.Errorf("streamed edit: %v, completed image %.20q", es.Err(), edited)
	}

	// Cut after the first event: an error, never one image of two.
	s.sim.SetConfig(withFaults(fastSim(), "sim-image", sim.Fault{Type: sim.FaultCut, After: 1}))
	st = oa.Images.GenerateStreaming(ctx, params, option.WithResponseInto(&hr))
	n := 0
	for st.Next() {
		n++
	}
	st.Close()
	if st.Err() == nil || n != 1 {
		t.Errorf("cut stream: %d events, error %v; want 1 and an error", n, st.Err())
	}
	if line := s.requestLog(hr.Header.Get("X-Request-Id")); line["partial"] != true {
		t.Errorf("cut stream's request log: %v", line)
	}

	// DALL-E refuses to stream; the provider's 400 reaches the client.
	resp, body := s.post("/v1/images/generations", `{"model":"dalle","prompt":"a train","stream":true}`)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "stream") {
		t.Errorf("streamed dall-e: %d %s", resp.StatusCode, body)
	}
}
