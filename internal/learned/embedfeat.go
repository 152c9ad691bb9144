package learned

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
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
// gateway itself, or any provider) at baseURL ("http://host:port/v1"),
// embedBatch texts a request, retrying a 429, a 5xx or a transport error
// twice. It is a plain net/http client rather than the official OpenAI SDK:
// the SDK would be linked into the gateway binary for this one offline call
// and costs 29 MB of binary and about 15 MB of resident memory in serve.
func NewOpenAIEmbedder(baseURL, apiKey, model string) Embedder {
	url := strings.TrimRight(baseURL, "/") + "/embeddings"
	hc := &http.Client{Timeout: 2 * time.Minute}
	return func(ctx context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, 0, len(texts))
		for start := 0; start < len(texts); start += embedBatch {
			batch := texts[start:min(start+embedBatch, len(texts))]
			vecs, err := embedOnce(ctx, hc, url, apiKey, model, batch)
			for retry := 1; err != nil && retry <= 2 && retryable(err); retry++ {
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(time.Duration(retry) * 500 * time.Millisecond):
				}
				vecs, err = embedOnce(ctx, hc, url, apiKey, model, batch)
			}
			if err != nil {
				return nil, fmt.Errorf("learned: embeddings %d-%d of %d: %w", start, start+len(batch), len(texts), err)
			}
			out = append(out, vecs...)
		}
		return out, nil
	}
}

// embedError is a non-2xx answer of the embeddings endpoint.
type embedError struct {
	status int
	msg    string
}

func (e *embedError) Error() string { return fmt.Sprintf("status %d: %s", e.status, e.msg) }

func retryable(err error) bool {
	var e *embedError
	if errors.As(err, &e) {
		return e.status == http.StatusTooManyRequests || e.status >= 500
	}
	return true // transport
}

// embedOnce sends one embeddings request and returns its vectors in input
// order.
func embedOnce(ctx context.Context, hc *http.Client, url, apiKey, model string, batch []string) ([][]float32, error) {
	body, err := json.Marshal(struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}{model, batch})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	var r struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	jerr := json.Unmarshal(raw, &r)
	if resp.StatusCode/100 != 2 {
		msg := http.StatusText(resp.StatusCode)
		if jerr == nil && r.Error != nil && r.Error.Message != "" {
			msg = r.Error.Message
		}
		return nil, &embedError{status: resp.StatusCode, msg: msg}
	}
	if jerr != nil {
		return nil, fmt.Errorf("malformed embeddings response: %w", jerr)
	}
	if len(r.Data) != len(batch) {
		return nil, fmt.Errorf("got %d vectors for %d texts", len(r.Data), len(batch))
	}
	vecs := make([][]float32, len(batch))
	for _, d := range r.Data {
		if d.Index < 0 || d.Index >= len(batch) || vecs[d.Index] != nil {
			return nil, fmt.Errorf("bad or repeated index %d", d.Index)
		}
		vecs[d.Index] = d.Embedding
	}
	return vecs, nil
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
