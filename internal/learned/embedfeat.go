package learned

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// EmbeddingFeatures is the optional part of a router file that uses an
// embedding of the prompt as extra input: h gains Proj·(√Dims·e), where e
// is the embedding of EmbeddingText(prompt) by Model. A router trained with
// them still predicts without an embedding (the term is then zero), because
// training drops the embedding of a share of the examples at random.
type EmbeddingFeatures struct {
	// Model is the embedding model the training called; the deployment a
	// route names must serve the same model.
	Model string `json:"model"`
	Dims  int    `json:"dims"`
	// Proj is Hidden × Dims, row-major.
	Proj []float64 `json:"proj"`
}

// EmbeddingText is the part of prompt that is embedded: the same window
// the text features read (the first 256 and last 1,280 bytes of a long
// prompt, joined by a line break), so an embedding call costs the same for
// any prompt length and stays within every embedding model's input limit.
func EmbeddingText(prompt string) string {
	head, tail := window(prompt)
	if tail == "" {
		return head
	}
	return head + "\n" + tail
}

// Embedding reports the embedding model the router was trained with and its
// dimensions; dims is 0 when the router uses no embedding.
func (r *Router) Embedding() (model string, dims int) {
	if e := r.file.PromptEmbedding; e != nil {
		return e.Model, e.Dims
	}
	return "", 0
}

// embedInput scales an embedding so a unit-norm vector's components are
// about unit size, clipped like the dense features. It writes into dst
// (len dims) and reports false when emb is absent or of the wrong size.
func embedInput(dst []float32, emb []float32) bool {
	if len(emb) == 0 || len(emb) != len(dst) {
		return false
	}
	scale := float32(math.Sqrt(float64(len(dst))))
	for i, v := range emb {
		dst[i] = min(denseClip, max(-denseClip, v*scale))
	}
	return true
}

// Embedder returns the embedding of each text, in order.
type Embedder func(ctx context.Context, texts []string) ([][]float32, error)

// embedBatch is how many texts one embeddings request carries.
const embedBatch = 64

// NewOpenAIEmbedder calls an OpenAI-compatible embeddings endpoint (the
// gateway itself, or any provider) at baseURL ("http://host:port/v1") with
// the official OpenAI Go SDK, embedBatch texts a request.
func NewOpenAIEmbedder(baseURL, apiKey, model string) Embedder {
	c := openai.NewClient(option.WithBaseURL(baseURL), option.WithAPIKey(apiKey), option.WithMaxRetries(2))
	return func(ctx context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, 0, len(texts))
		for start := 0; start < len(texts); start += embedBatch {
			batch := texts[start:min(start+embedBatch, len(texts))]
			resp, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{
				Model: openai.EmbeddingModel(model),
				Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: batch},
			})
			if err != nil {
				return nil, fmt.Errorf("learned: embeddings %d-%d of %d: %w", start, start+len(batch), len(texts), err)
			}
			if len(resp.Data) != len(batch) {
				return nil, fmt.Errorf("learned: embeddings: got %d vectors for %d texts", len(resp.Data), len(batch))
			}
			vecs := make([][]float32, len(batch))
			for _, d := range resp.Data {
				if d.Index < 0 || int(d.Index) >= len(batch) || vecs[d.Index] != nil {
					return nil, fmt.Errorf("learned: embeddings: bad or repeated index %d", d.Index)
				}
				v := make([]float32, len(d.Embedding))
				for i, x := range d.Embedding {
					v[i] = float32(x)
				}
				vecs[d.Index] = v
			}
			out = append(out, vecs...)
		}
		return out, nil
	}
}

// EmbeddingTable maps a prompt to its embedding, fetched once for a whole
// data set (training and evaluation read it many times).
type EmbeddingTable struct {
	Model string
	Dims  int
	byKey map[string][]float32
}

// FetchEmbeddings embeds EmbeddingText of every prompt (each distinct text
// once) and checks that all vectors have one size.
func FetchEmbeddings(ctx context.Context, embed Embedder, model string, prompts []string) (*EmbeddingTable, error) {
	t := &EmbeddingTable{Model: model, byKey: make(map[string][]float32, len(prompts))}
	var texts []string
	for _, p := range prompts {
		k := EmbeddingText(p)
		if _, ok := t.byKey[k]; !ok {
			t.byKey[k] = nil
			texts = append(texts, k)
		}
	}
	vecs, err := embed(ctx, texts)
	if err != nil {
		return nil, err
	}
	if len(vecs) != len(texts) {
		return nil, fmt.Errorf("learned: embeddings: got %d vectors for %d texts", len(vecs), len(texts))
	}
	for i, v := range vecs {
		if len(v) == 0 || t.Dims != 0 && len(v) != t.Dims {
			return nil, fmt.Errorf("learned: embeddings: vector %d has %d dimensions, want %d", i, len(v), t.Dims)
		}
		t.Dims = len(v)
		t.byKey[texts[i]] = v
	}
	if t.Dims == 0 {
		return nil, errors.New("learned: embeddings: no prompts")
	}
	return t, nil
}

// Of returns the embedding of prompt, or nil if the table lacks it (a nil
// table too).
func (t *EmbeddingTable) Of(prompt string) []float32 {
	if t == nil {
		return nil
	}
	return t.byKey[EmbeddingText(prompt)]
}
