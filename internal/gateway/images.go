package gateway

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// ServeImages serves POST /v1/images/generations (serveRelayed), to the
// deployments with capabilities.images: the body relayed with only model
// rewritten, the answer returned verbatim and never cached. model is
// optional, as in OpenAI's API: without it, the first deployment that
// generates images serves the request. The cost is the tokens the answer
// reports (gpt-image models) at the deployment's prices, plus
// price.per_image for each image (DALL-E). With stream true the answer is
// relayed as a stream of events (relayStream): partial images, then one
// completed event per image.
func (g *Gateway) ServeImages(w http.ResponseWriter, r *http.Request) {
	g.serveRelayed(w, r, "switchyard.images", func(body []byte, _ string) (relayed, error) {
		req, err := openaiapi.ParseImages(body)
		if err != nil {
			return relayed{}, err
		}
		shape := gjson.GetManyBytes(req.Raw, "size", "quality", "partial_images")
		rel := relayed{
			model: req.Model, inputTokens: tokens.FromBytes(req.PromptBytes), units: req.N,
			outputTokens: req.N * imageOutputTokens(shape[0].String(), shape[1].String(), int(shape[2].Int())),
			capability:   config.CapImages, what: "image generation", serves: servesImages,
			call: calling(req, g.exec.GenerateImages, imageAnswer),
		}
		if req.Stream {
			rel.what, rel.serves = "streamed image generation", streamsImages
			rel.stream = streaming(req, g.exec.GenerateImagesStream)
		}
		return rel, nil
	})
}

// ServeImageEdits serves POST /v1/images/edits like ServeImages: the
// multipart form (images, an optional mask, the prompt) is written again
// for the deployment with only model rewritten (serveImageForm).
func (g *Gateway) ServeImageEdits(w http.ResponseWriter, r *http.Request) {
	g.serveImageForm(w, r, openaiapi.ParseImageEdits)
}

// ServeImageVariations serves POST /v1/images/variations (DALL-E 2) like
// ServeImageEdits: the form's image and fields are written again for the
// deployment with only model rewritten, and priced per image. Variations
// do not stream (the parser refuses stream).
func (g *Gateway) ServeImageVariations(w http.ResponseWriter, r *http.Request) {
	g.serveImageForm(w, r, openaiapi.ParseImageVariations)
}

// serveImageForm serves an image request sent as a multipart form (an
// edit or a variation): parse reads the form, the number of images it asks
// for and its weight in estimated tokens; the adapter writes the form again
// to the endpoint its Op names.
func (g *Gateway) serveImageForm(w http.ResponseWriter, r *http.Request, parse func(body []byte, contentType string) (*llm.FormRequest, int, int, error)) {
	g.serveRelayed(w, r, "switchyard.images", func(body []byte, contentType string) (relayed, error) {
		req, n, input, err := parse(body, contentType)
		if err != nil {
			return relayed{}, err
		}
		var size, quality string
		partials := 0
		for _, f := range req.Fields {
			switch f.Name {
			case "size":
				size = f.Value
			case "quality":
				quality = f.Value
			case "partial_images":
				partials, _ = strconv.Atoi(f.Value)
			}
		}
		rel := relayed{
			model: req.Model, inputTokens: input, units: n,
			outputTokens: n * imageOutputTokens(size, quality, partials),
			capability:   config.CapImages, what: "image generation", serves: servesImages,
			call: calling(req, g.exec.EditImages, imageAnswer),
		}
		if req.Op == "images/variations" {
			// Only DALL-E 2 makes variations (OpenAI's default for them).
			rel.prefer = isDallE
		}
		if req.Stream {
			rel.what, rel.serves = "streamed image edits", streamsImages
			rel.stream = streaming(req, g.exec.EditImagesStream)
		}
		return rel, nil
	})
}

// gptImageTokens is the output tokens of one image of a gpt-image model by
// size and quality (low, medium, high), from OpenAI's table for
// gpt-image-1.
var gptImageTokens = map[string][3]int{
	"1024x1024": {272, 1056, 4160},
	"1024x1536": {408, 1584, 6240},
	"1536x1024": {400, 1568, 6208},
}

// partialImageTokens is what each partial image of a streamed image adds
// to its output tokens; an image has at most maxPartialImages.
const (
	partialImageTokens = 100
	maxPartialImages   = 3
)

// imageOutputTokens is the most output tokens one image of size and
// quality can be billed, with partials partial images: from
// gptImageTokens, the largest over the sizes or qualities not given or
// not in the table ("auto", DALL-E's), so that a budget's reservation
// covers whatever the model picks.
func imageOutputTokens(size, quality string, partials int) int {
	q := slices.Index([]string{"low", "medium", "high"}, quality)
	worst := 0
	for s, byQuality := range gptImageTokens {
		if _, known := gptImageTokens[size]; known && s != size {
			continue
		}
		for i, n := range byQuality {
			if q < 0 || i == q {
				worst = max(worst, n)
			}
		}
	}
	return worst + min(max(partials, 0), maxPartialImages)*partialImageTokens
}

// isDallE reports whether model is a DALL-E model (dall-e-2, or a name
// holding "dalle"), the only kind that makes image variations.
func isDallE(model string) bool {
	m := strings.ToLower(model)
	return strings.Contains(m, "dall-e") || strings.Contains(m, "dalle")
}

// servesImages reports whether a provider generates images.
func servesImages(p provider.Provider) bool { _, ok := p.(provider.ImageGenerator); return ok }

// streamsImages reports whether a provider streams image answers.
func streamsImages(p provider.Provider) bool { _, ok := p.(provider.ImageStreamer); return ok }

// imageAnswer is what serveRelayed needs of an image answer.
func imageAnswer(resp *llm.ImageResponse) relayedAnswer {
	return relayedAnswer{usage: resp.Usage, raw: resp.Raw, units: resp.Images}
}
