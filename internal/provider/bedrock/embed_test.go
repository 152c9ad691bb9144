package bedrock

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// vectorOf is the fake upstreams' embedding of text: its length, and the
// code of its first byte over 1000 (exact in float32).
func vectorOf(text string) []float64 {
	return []float64{float64(len(text)), float64(text[0]) / 1024}
}

// embedUpstream is a fake InvokeModel endpoint for Titan and Cohere
// bodies; it records every body, and answers a text "fail" with a
// throttling error.
type embedUpstream struct {
	mu     sync.Mutex
	paths  []string
	bodies []map[string]any
	byType atomic.Bool // Cohere answers embeddings_by_type
}

func (u *embedUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, `{"message":"bad json"}`, http.StatusBadRequest)
		return
	}
	u.mu.Lock()
	u.paths, u.bodies = append(u.paths, r.URL.EscapedPath()), append(u.bodies, body)
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if text, ok := body["inputText"].(string); ok { // Titan
		if text == "fail" {
			w.Header().Set("x-amzn-ErrorType", "ThrottlingException")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"message":"Too many requests, please wait before trying again."}`)
			return
		}
		w.Header().Set(tokenCountHeader, strconv.Itoa(len(text)))
		out, _ := json.Marshal(map[string]any{"embedding": vectorOf(text), "inputTextTokenCount": len(text) + 1000})
		_, _ = w.Write(out)
		return
	}
	var vectors [][]float64
	tokens := 0
	for _, t := range body["texts"].([]any) {
		vectors = append(vectors, vectorOf(t.(string)))
		tokens += len(t.(string))
	}
	answer := map[string]any{"id": "e1", "embeddings": vectors, "response_type": "embeddings_floats", "texts": body["texts"]}
	if u.byType.Load() {
		answer["embeddings"], answer["response_type"] = map[string]any{"float": vectors}, "embeddings_by_type"
	}
	w.Header().Set(tokenCountHeader, strconv.Itoa(tokens))
	out, _ := json.Marshal(answer)
	_, _ = w.Write(out)
}

// embedClient is a client of model at a fresh embedUpstream.
func embedClient(t *testing.T, model string) (*Client, *embedUpstream) {
	t.Helper()
	u := &embedUpstream{}
	srv := httptest.NewServer(u)
	t.Cleanup(srv.Close)
	return newClient(srv, func(c *provider.Config) { c.Model = model }), u
}

// embeddings decodes an OpenAI embeddings list, float or base64.
func embeddings(t *testing.T, raw []byte) (vectors [][]float64, model string, tokens int) {
	t.Helper()
	var out struct {
		Object string `json:"object"`
		Data   []struct {
			Object    string          `json:"object"`
			Index     int             `json:"index"`
			Embedding json.RawMessage `json:"embedding"`
		} `json:"data"`
		Model string `json:"model"`
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
			TotalTokens  int `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Object != "list" || out.Usage.PromptTokens != out.Usage.TotalTokens {
		t.Fatalf("not an OpenAI embeddings list (%v): %s", err, raw)
	}
	for i, d := range out.Data {
		if d.Object != "embedding" || d.Index != i {
			t.Fatalf("data[%d] is %s #%d", i, d.Object, d.Index)
		}
		var v []float64
		var packed string
		switch {
		case json.Unmarshal(d.Embedding, &v) == nil:
		case json.Unmarshal(d.Embedding, &packed) == nil:
			b, err := base64.StdEncoding.DecodeString(packed)
			if err != nil || len(b)%4 != 0 {
				t.Fatalf("data[%d]: bad base64 %q", i, packed)
			}
			for j := 0; j < len(b); j += 4 {
				v = append(v, float64(math.Float32frombits(binary.LittleEndian.Uint32(b[j:]))))
			}
		default:
			t.Fatalf("data[%d]: embedding is %s", i, d.Embedding)
		}
		vectors = append(vectors, v)
	}
	return vectors, out.Model, out.Usage.PromptTokens
}

// TestEmbedTitan: each text is its own InvokeModel call to the model's
// escaped path, with dimensions carried; the answer lists the vectors in
// input order (the calls run in parallel), as floats or base64, with the
// token counts of InvokeModel's header summed; what Titan cannot take is
// named as dropped.
func TestEmbedTitan(t *testing.T) {
	const model = "amazon.titan-embed-text-v2:0"
	c, up := embedClient(t, model)
	texts := []string{"alpha", "be", "gamma ray", "delta", "e", "zeta function", "eta", "theta", "iota", "kappa"}
	in, _ := json.Marshal(texts)
	for _, format := range []string{"float", "base64"} {
		t.Run(format, func(t *testing.T) {
			up.paths, up.bodies = nil, nil
			raw := fmt.Sprintf(`{"model":"route","input":%s,"dimensions":256,"encoding_format":%q,"user":"u1","input_type":"search_query","extra":null}`, in, format)
			resp, err := c.Embed(context.Background(), &llm.EmbedRequest{Model: "route", Raw: []byte(raw)})
			if err != nil {
				t.Fatal(err)
			}
			vectors, name, tokens := embeddings(t, resp.Raw)
			want, wantTokens := [][]float64{}, 0
			for _, s := range texts {
				want = append(want, vectorOf(s))
				wantTokens += len(s)
			}
			if !slices.EqualFunc(vectors, want, slices.Equal) {
				t.Errorf("vectors %v, want %v", vectors, want)
			}
			if name != model || tokens != wantTokens || resp.Usage.InputTokens != wantTokens || resp.Model != model {
				t.Errorf("model %q, tokens %d (usage %+v), want %q and %d from the header", name, tokens, resp.Usage, model, wantTokens)
			}
			if !slices.Equal(resp.Dropped, []string{"user", "input_type"}) {
				t.Errorf("dropped %q, want user and input_type (extra is null)", resp.Dropped)
			}
			if len(up.bodies) != len(texts) {
				t.Fatalf("%d calls, want one per text", len(up.bodies))
			}
			for i, b := range up.bodies {
				if len(b) != 2 || b["dimensions"] != 256.0 || !slices.Contains(texts, b["inputText"].(string)) {
					t.Errorf("call %d: body %v", i, b)
				}
				if up.paths[i] != "/model/amazon.titan-embed-text-v2%3A0/invoke" {
					t.Errorf("call %d to %s", i, up.paths[i])
				}
			}
		})
	}
}

// TestEmbedCohere: texts go 96 to a call with input_type (the client's,
// else search_document), floats asked for by type and dimensions as
// output_dimension; either answer shape is read.
func TestEmbedCohere(t *testing.T) {
	const model = "cohere.embed-v4:0"
	c, up := embedClient(t, model)
	texts := make([]string, 100)
	for i := range texts {
		texts[i] = strings.Repeat("x", i+1)
	}
	in, _ := json.Marshal(texts)
	for _, byType := range []bool{false, true} {
		up.byType.Store(byType)
		up.bodies = nil
		resp, err := c.Embed(context.Background(), &llm.EmbedRequest{Raw: []byte(`{"model":"m","input":` + string(in) + `,"dimensions":512}`)})
		if err != nil {
			t.Fatal(err)
		}
		vectors, _, tokens := embeddings(t, resp.Raw)
		if len(vectors) != 100 || !slices.Equal(vectors[99], vectorOf(texts[99])) || tokens != 5050 {
			t.Fatalf("by type %v: %d vectors, last %v, %d tokens", byType, len(vectors), vectors[len(vectors)-1], tokens)
		}
		if len(up.bodies) != 2 || len(up.bodies[0]["texts"].([]any)) != 96 || len(up.bodies[1]["texts"].([]any)) != 4 {
			t.Fatalf("calls: %v", up.bodies)
		}
		b := up.bodies[1]
		if b["input_type"] != "search_document" || b["output_dimension"] != 512.0 || fmt.Sprint(b["embedding_types"]) != "[float]" || len(b) != 4 {
			t.Errorf("body %v", b)
		}
	}
	up.bodies = nil
	if _, err := c.Embed(context.Background(), &llm.EmbedRequest{Raw: []byte(`{"model":"m","input":"q","input_type":"search_query"}`)}); err != nil {
		t.Fatal(err)
	}
	if b := up.bodies[0]; b["input_type"] != "search_query" || b["output_dimension"] != nil {
		t.Errorf("body %v, want the client's input_type and no output_dimension", b)
	}
}

// TestEmbedRefusals: what Bedrock's models cannot embed is refused before
// any call; a failing call fails the request with its kind; an answer
// without vectors is the provider failing.
func TestEmbedRefusals(t *testing.T) {
	c, up := embedClient(t, "amazon.titan-embed-text-v1")
	for _, raw := range []string{
		`{"model":"m","input":[1,2,3]}`,
		`{"model":"m","input":[[1,2],[3]]}`,
		`{"model":"m","input":[]}`,
		`{"model":"m","input":"a","encoding_format":"int8"}`,
		`{"model":"m","input":"a","dimensions":1.5}`,
	} {
		_, err := c.Embed(context.Background(), &llm.EmbedRequest{Raw: []byte(raw)})
		if provider.KindOf(err) != provider.KindBadRequest {
			t.Errorf("%s: %v, want a bad request", raw, err)
		}
	}
	if len(up.bodies) != 0 {
		t.Errorf("refused requests made %d calls", len(up.bodies))
	}
	_, err := c.Embed(context.Background(), &llm.EmbedRequest{Raw: []byte(`{"model":"m","input":["a","fail","b"]}`)})
	if provider.KindOf(err) != provider.KindRateLimited {
		t.Errorf("one throttled call: %v, want rate limited", err)
	}

	chat, _ := embedClient(t, testModel)
	if _, err := chat.Embed(context.Background(), &llm.EmbedRequest{Raw: []byte(`{"model":"m","input":"a"}`)}); provider.KindOf(err) != provider.KindBadRequest || !strings.Contains(err.Error(), "not a Bedrock embedding model") {
		t.Errorf("a chat model: %v", err)
	}

	for _, answer := range []string{`{"embedding":"nope"}`, `{"embedding":[0.1,"x"]}`, `not json`, `{"embeddings":{"int8":[[1]]}}`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = io.WriteString(w, answer)
		}))
		for _, model := range []string{"amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"} {
			c := newClient(srv, func(c *provider.Config) { c.Model = model })
			if _, err := c.Embed(context.Background(), &llm.EmbedRequest{Raw: []byte(`{"model":"m","input":"a"}`)}); provider.KindOf(err) != provider.KindUnavailable {
				t.Errorf("%s answering %s: %v, want unavailable", model, answer, err)
			}
		}
		srv.Close()
	}
}

func TestEmbeddingFamily(t *testing.T) {
	for model, want := range map[string]string{
		"amazon.titan-embed-text-v2:0":  FamilyTitan,
		"amazon.titan-embed-g1-text-02": FamilyTitan,
		"cohere.embed-multilingual-v3":  FamilyCohere,
		"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.cohere.embed-v4:0": FamilyCohere,
		"anthropic.claude-sonnet-4-5":  "",
		"amazon.titan-text-express-v1": "",
	} {
		if got := EmbeddingFamily(model); got != want {
			t.Errorf("EmbeddingFamily(%q) = %q, want %q", model, got, want)
		}
	}
}
