package app

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/provider/bedrock"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

// bedrockEmbedDeployments are embedding deployments on the Bedrock
// providers of bedrockProviders, and the same Titan model over the
// simulator's OpenAI endpoint, which embeds a text as its Bedrock
// endpoint does.
const bedrockEmbedDeployments = `  - name: titan
    provider: sim-bedrock
    model: amazon.titan-embed-text-v2:0
    price: {input_per_mtok: 0.02}
    capabilities: {chat: false, embeddings: true}
  - name: titan-openai
    provider: sim-openai
    model: amazon.titan-embed-text-v2:0
    capabilities: {chat: false, embeddings: true}
  - name: cohere
    provider: sim-bedrock-signed
    model: cohere.embed-v4:0
    price: {input_per_mtok: 0.12}
    capabilities: {chat: false, embeddings: true}
  - name: titan-throttled
    provider: sim-bedrock
    model: amazon.titan-embed-throttled-v2
    capabilities: {chat: false, embeddings: true}
routes:
  - name: titan-first
    targets: [titan-throttled, titan]
`

// TestBedrockEmbeddings: the OpenAI SDK's embeddings are served by
// Bedrock's Titan and Cohere models through InvokeModel: the vectors are
// the model's (the same as the simulator's OpenAI endpoint gives for that
// model), in input order, as floats or base64, with Bedrock's token count
// and its cost; a throttled Bedrock deployment fails over; token ids and
// dimensions the model lacks are 400s in OpenAI's shape.
func TestBedrockEmbeddings(t *testing.T) {
	simCfg := fastSim()
	simCfg.Models = append(simCfg.Models,
		sim.Model{Name: "amazon.titan-embed-text-v2:0", ContextWindow: 8192, EmbeddingDims: 1024},
		sim.Model{Name: "cohere.embed-v4:0", ContextWindow: 8192, EmbeddingDims: 1536},
		sim.Model{Name: "amazon.titan-embed-throttled-v2", ContextWindow: 8192, Faults: []sim.Fault{{Type: sim.FaultStatus, Status: 429}}})
	cfg := strings.Replace(baseConfig, "deployments:", bedrockProviders, 1)
	cfg = strings.Replace(cfg, "routes:\n", bedrockEmbedDeployments, 1)
	s := startStack(t, simCfg, cfg)
	ctx := context.Background()
	oa := s.openai()
	texts := []string{"the first text", "a second one", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
	input := openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts}

	var hr *http.Response
	got, err := oa.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "titan", Input: input, Dimensions: openai.Int(256)},
		option.WithResponseInto(&hr), option.WithJSONSet("user", "u-1"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := oa.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "titan-openai", Input: input, Dimensions: openai.Int(256)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != len(texts) || len(got.Data[0].Embedding) != 256 {
		t.Fatalf("titan: %d vectors of %d", len(got.Data), len(got.Data[0].Embedding))
	}
	for i := range texts {
		if got.Data[i].Index != int64(i) || !slices.Equal(got.Data[i].Embedding, want.Data[i].Embedding) {
			t.Errorf("titan vector %d differs from the model's", i)
		}
	}
	cost, _ := strconv.ParseFloat(hr.Header.Get("X-Switchyard-Cost"), 64)
	if got.Model != "amazon.titan-embed-text-v2:0" || got.Usage.PromptTokens != want.Usage.PromptTokens || cost <= 0 ||
		hr.Header.Get("X-Switchyard-Deployment") != "titan" || hr.Header.Get("X-Switchyard-Dropped-Params") != "user" {
		t.Errorf("titan: model %q, usage %+v (want %+v), headers %v", got.Model, got.Usage, want.Usage, hr.Header)
	}
	if n := len(s.sim.Calls("amazon.titan-embed-text-v2:0")); n != len(texts)+1 {
		t.Errorf("%d calls to Titan, want one per text over Bedrock and one over OpenAI", n)
	}

	// base64, as the Python and Node SDKs ask by default: the same
	// numbers, packed as little-endian float32.
	resp, body := s.post("/v1/embeddings", `{"model":"titan","input":["the first text"],"dimensions":256,"encoding_format":"base64"}`)
	var packed struct {
		Data []struct {
			Embedding string `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &packed); resp.StatusCode != 200 || err != nil || len(packed.Data) != 1 {
		t.Fatalf("base64: %d %s", resp.StatusCode, body)
	}
	raw, _ := base64.StdEncoding.DecodeString(packed.Data[0].Embedding)
	if len(raw) != 4*256 {
		t.Fatalf("base64: %d bytes", len(raw))
	}
	for i, x := range want.Data[0].Embedding {
		if f := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); f != float32(x) {
			t.Fatalf("base64 component %d: %v, want %v", i, f, x)
		}
	}

	// Cohere, signed with access keys: one call for all the texts.
	before := len(s.sim.Calls("cohere.embed-v4:0"))
	co, err := oa.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "cohere", Input: input}, option.WithJSONSet("input_type", "search_query"))
	if err != nil {
		t.Fatal(err)
	}
	if len(co.Data) != len(texts) || len(co.Data[0].Embedding) != 1536 || co.Usage.PromptTokens == 0 || slices.Equal(co.Data[0].Embedding, co.Data[1].Embedding) {
		t.Errorf("cohere: %d vectors of %d, usage %+v", len(co.Data), len(co.Data[0].Embedding), co.Usage)
	}
	if n := len(s.sim.Calls("cohere.embed-v4:0")) - before; n != 1 {
		t.Errorf("%d calls to Cohere, want 1", n)
	}

	// A throttled Bedrock deployment fails over to the next.
	_, err = oa.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "titan-first", Input: input}, option.WithResponseInto(&hr))
	if err != nil || hr.Header.Get("X-Switchyard-Deployment") != "titan" || hr.Header.Get("X-Switchyard-Attempts") == "1" {
		t.Errorf("fail-over: %v, headers %v", err, hr.Header)
	}

	// What Bedrock's models cannot take.
	for _, tc := range []struct {
		params openai.EmbeddingNewParams
		says   string
	}{
		{openai.EmbeddingNewParams{Model: "titan", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokens: []int64{1, 2, 3}}}, "not token ids"},
		{openai.EmbeddingNewParams{Model: "titan", Input: input, Dimensions: openai.Int(100)}, "dimensions"},
	} {
		_, err := oa.Embeddings.New(ctx, tc.params)
		var ae *openai.Error
		if !errors.As(err, &ae) || ae.StatusCode != 400 || !strings.Contains(ae.Message, tc.says) {
			t.Errorf("%+v: %v, want a 400 saying %q", tc.params, err, tc.says)
		}
	}
}

// TestBedrockEmbeddingModelsAgree: a Bedrock deployment may serve
// embeddings exactly when the adapter knows its model's body.
func TestBedrockEmbeddingModelsAgree(t *testing.T) {
	for _, model := range []string{
		"amazon.titan-embed-text-v2:0", "amazon.titan-embed-text-v1", "amazon.titan-embed-g1-text-02",
		"cohere.embed-english-v3", "cohere.embed-v4:0", "us.cohere.embed-v4:0",
		"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.cohere.embed-v4:0",
		"anthropic.claude-sonnet-4-5", "amazon.titan-text-express-v1", "amazon.nova-lite-v1:0", "cohere.command-r-v1:0",
	} {
		src := "providers:\n  - {name: aws, kind: bedrock, region: us-east-1}\ndeployments:\n" +
			"  - {name: e, provider: aws, model: \"" + model + "\", capabilities: {chat: false, embeddings: true}}\n"
		_, err := config.Parse([]byte(src), func(string) string { return "" })
		if loads, known := err == nil, bedrock.EmbeddingFamily(model) != ""; loads != known {
			t.Errorf("%s: config loads %v (%v), adapter knows it %v", model, loads, err, known)
		}
	}
}
