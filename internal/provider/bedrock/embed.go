package bedrock

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

var _ provider.Embedder = (*Client)(nil)

// Embedding model families on Bedrock, each with its own InvokeModel body.
const (
	FamilyTitan  = "titan"  // Amazon Titan Text Embeddings: one text a call
	FamilyCohere = "cohere" // Cohere Embed: up to cohereBatch texts a call
)

// EmbeddingFamily is the embedding family of a Bedrock model id (a base
// model id, an inference-profile id or an ARN naming one), or "" when the
// id names no embedding model the adapter can call.
func EmbeddingFamily(model string) string {
	switch {
	case strings.Contains(model, "titan-embed"):
		return FamilyTitan
	case strings.Contains(model, "cohere.embed"):
		return FamilyCohere
	}
	return ""
}

const (
	// cohereBatch is the most texts Cohere Embed takes in one call.
	cohereBatch = 96
	// titanParallel bounds the Titan calls of one request in flight.
	titanParallel = 8
	// tokenCountHeader is InvokeModel's count of the call's input tokens.
	tokenCountHeader = "X-Amzn-Bedrock-Input-Token-Count"
	// defaultInputType is Cohere's input_type when the client names none:
	// the documents of a search index, what an OpenAI client most often
	// embeds (a client sends "input_type" to choose another).
	defaultInputType = "search_document"
)

// embedInput is what an OpenAI embeddings request asks of a Bedrock model.
type embedInput struct {
	texts      []string
	base64     bool   // encoding_format "base64"
	dimensions int64  // 0: the model's default
	inputType  string // Cohere's input_type
	dropped    []string
}

// Embed answers an OpenAI embeddings request with InvokeModel: Titan Text
// Embeddings takes one text a call (a request's texts go in parallel
// calls), Cohere Embed up to 96. The answer is OpenAI's list of
// embeddings, as floats or, with encoding_format base64, as the
// little-endian float32 bytes OpenAI sends; the vectors' numbers are
// copied as Bedrock wrote them.
func (c *Client) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	family := EmbeddingFamily(c.cfg.Model)
	if family == "" {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "model " + strconv.Quote(c.cfg.Model) + " is not a Bedrock embedding model (Titan Text Embeddings or Cohere Embed)"}
	}
	in, err := parseEmbedInput(req.Raw, family)
	if err != nil {
		return nil, err
	}
	var (
		vectors [][]byte // each a JSON array of numbers
		tokens  int
	)
	if family == FamilyTitan {
		vectors, tokens, err = c.embedTitan(ctx, in)
	} else {
		vectors, tokens, err = c.embedCohere(ctx, in)
	}
	if err != nil {
		return nil, err
	}
	raw, err := openAIEmbeddings(vectors, c.cfg.Model, tokens, in.base64)
	if err != nil {
		return nil, err
	}
	return &llm.EmbedResponse{Model: c.cfg.Model, Usage: llm.Usage{InputTokens: tokens}.Clamped(), Raw: raw, Dropped: in.dropped}, nil
}

// EmbedsTextOnly reports that Bedrock's embedding models take text, not
// token ids: the gateway sends a request of token ids elsewhere.
func (c *Client) EmbedsTextOnly() bool { return true }

// parseEmbedInput reads an OpenAI embeddings body. Bedrock's models embed
// text, so token-id inputs are refused.
func parseEmbedInput(raw []byte, family string) (*embedInput, error) {
	root := gjson.ParseBytes(raw)
	in := &embedInput{inputType: defaultInputType}
	input := root.Get("input")
	switch {
	case input.Type == gjson.String:
		in.texts = []string{input.Str}
	case input.IsArray():
		for _, v := range input.Array() {
			if v.Type != gjson.String {
				return nil, badInput("input: Bedrock embedding models take text: send input as a string or an array of strings, not token ids")
			}
			in.texts = append(in.texts, v.Str)
		}
	}
	if len(in.texts) == 0 {
		return nil, badInput("input: must be a non-empty string or array of strings")
	}
	var bad *provider.Error
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model", "input":
		case "encoding_format":
			switch v.Str {
			case "float":
			case "base64":
				in.base64 = true
			default:
				bad = badInput("encoding_format must be float or base64, got " + v.Raw)
			}
		case "dimensions":
			if v.Type != gjson.Number || v.Int() < 1 || float64(v.Int()) != v.Num {
				bad = badInput("dimensions must be a positive integer, got " + v.Raw)
			}
			in.dimensions = v.Int()
		case "input_type":
			if family != FamilyCohere && v.Type != gjson.Null {
				in.dropped = append(in.dropped, k.Str)
				break
			}
			if v.Type != gjson.String || v.Str == "" {
				bad = badInput("input_type must be a string, got " + v.Raw)
			}
			in.inputType = v.Str
		default: // user, and fields the gateway does not know
			if v.Type == gjson.Null {
				break
			}
			in.dropped = append(in.dropped, k.Str)
		}
		return bad == nil
	})
	if bad != nil {
		return nil, bad
	}
	return in, nil
}

// badInput is a request the gateway refuses before calling Bedrock; msg
// names the parameter.
func badInput(msg string) *provider.Error {
	return &provider.Error{Kind: provider.KindBadRequest, Message: msg}
}

// titanRequest is a Titan Text Embeddings body.
type titanRequest struct {
	InputText  string `json:"inputText"`
	Dimensions int64  `json:"dimensions,omitempty"`
}

// embedTitan embeds each text with its own call, at most titanParallel at
// once; the first failure cancels the rest and is the answer.
func (c *Client) embedTitan(ctx context.Context, in *embedInput) ([][]byte, int, error) {
	vectors := make([][]byte, len(in.texts))
	counts := make([]int, len(in.texts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(titanParallel)
	for i, text := range in.texts {
		g.Go(func() error {
			body, err := json.Marshal(titanRequest{InputText: text, Dimensions: in.dimensions})
			if err != nil {
				return &provider.Error{Kind: provider.KindBadRequest, Message: "cannot encode request", Err: err}
			}
			raw, h, err := c.invoke(gctx, body)
			if err != nil {
				return err
			}
			r := gjson.GetManyBytes(raw, "embedding", "inputTextTokenCount")
			if !r[0].IsArray() {
				return malformedEmbedding("Titan response without embedding")
			}
			vectors[i] = []byte(r[0].Raw)
			counts[i] = inputTokens(h, r[1])
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	return vectors, total, nil
}

// cohereRequest is a Cohere Embed body. Floats are asked for by type, so
// v3 and v4 models answer in the same shape.
type cohereRequest struct {
	Texts           []string `json:"texts"`
	InputType       string   `json:"input_type"`
	EmbeddingTypes  []string `json:"embedding_types"`
	OutputDimension int64    `json:"output_dimension,omitempty"`
}

// embedCohere embeds the texts cohereBatch at a time, one call after the
// other (a request rarely holds more than one batch).
func (c *Client) embedCohere(ctx context.Context, in *embedInput) ([][]byte, int, error) {
	vectors := make([][]byte, 0, len(in.texts))
	total := 0
	for start := 0; start < len(in.texts); start += cohereBatch {
		batch := in.texts[start:min(start+cohereBatch, len(in.texts))]
		body, err := json.Marshal(cohereRequest{Texts: batch, InputType: in.inputType, EmbeddingTypes: []string{"float"}, OutputDimension: in.dimensions})
		if err != nil {
			return nil, 0, &provider.Error{Kind: provider.KindBadRequest, Message: "cannot encode request", Err: err}
		}
		raw, h, err := c.invoke(ctx, body)
		if err != nil {
			return nil, 0, err
		}
		// embeddings_by_type answers {"float": [[…]]}; an answer of
		// embeddings_floats (no types asked) is the bare list.
		list := gjson.GetBytes(raw, "embeddings")
		if list.IsObject() {
			list = list.Get("float")
		}
		got := list.Array()
		if !list.IsArray() || len(got) != len(batch) {
			return nil, 0, malformedEmbedding("Cohere response without one float embedding per text")
		}
		for _, v := range got {
			if !v.IsArray() {
				return nil, 0, malformedEmbedding("Cohere response with an embedding that is not a list")
			}
			vectors = append(vectors, []byte(v.Raw))
		}
		total += inputTokens(h, gjson.Result{})
	}
	return vectors, total, nil
}

// invoke sends one InvokeModel call and returns its body and headers.
func (c *Client) invoke(ctx context.Context, body []byte) ([]byte, http.Header, error) {
	resp, err := c.postTo(ctx, "/invoke", body, false)
	if err != nil {
		return nil, nil, err
	}
	raw, err := provider.ReadBody(ctx, resp)
	if err != nil {
		return nil, nil, err
	}
	if !wirejson.Valid(raw) {
		return nil, nil, malformedEmbedding("malformed InvokeModel response")
	}
	return raw, resp.Header, nil
}

// inputTokens is a call's input token count: InvokeModel's header, else
// the count in the body (Titan's inputTextTokenCount), else 0 (the
// gateway then estimates).
func inputTokens(h http.Header, inBody gjson.Result) int {
	if n, err := strconv.ParseInt(h.Get(tokenCountHeader), 10, 64); err == nil && n >= 0 {
		return llm.ReportedTokens(n)
	}
	return llm.ReportedTokens(inBody.Int())
}

func malformedEmbedding(msg string) *provider.Error {
	return &provider.Error{Kind: provider.KindUnavailable, Status: http.StatusOK, Message: msg}
}

// openAIEmbeddings writes OpenAI's embeddings list. Each vector is a JSON
// array of numbers as Bedrock wrote it: copied as it is, or, for base64,
// packed as little-endian float32.
func openAIEmbeddings(vectors [][]byte, model string, tokens int, asBase64 bool) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"object":"list","data":[`)
	for i, v := range vectors {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"object":"embedding","index":`)
		b.WriteString(strconv.Itoa(i))
		b.WriteString(`,"embedding":`)
		if !asBase64 {
			if !numbers(v) {
				return nil, malformedEmbedding("embedding with a value that is not a number")
			}
			b.Write(v)
		} else {
			packed, err := packFloat32(v)
			if err != nil {
				return nil, err
			}
			b.WriteByte('"')
			b.WriteString(packed)
			b.WriteByte('"')
		}
		b.WriteByte('}')
	}
	b.WriteString(`],"model":`)
	name, _ := json.Marshal(model)
	b.Write(name)
	b.WriteString(`,"usage":{"prompt_tokens":`)
	b.WriteString(strconv.Itoa(tokens))
	b.WriteString(`,"total_tokens":`)
	b.WriteString(strconv.Itoa(tokens))
	b.WriteString(`}}`)
	return b.Bytes(), nil
}

// packFloat32 is the base64 of a JSON array of numbers as little-endian
// float32, the encoding OpenAI's encoding_format base64 answers with.
func packFloat32(vector []byte) (string, error) {
	items := gjson.ParseBytes(vector).Array()
	buf := make([]byte, 4*len(items))
	for i, x := range items {
		if x.Type != gjson.Number {
			return "", malformedEmbedding("embedding with a value that is not a number")
		}
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(float32(x.Num)))
	}
	return base64.StdEncoding.EncodeToString(buf), nil
}

// numbers reports whether a JSON array holds only numbers.
func numbers(vector []byte) bool {
	ok := true
	gjson.ParseBytes(vector).ForEach(func(_, x gjson.Result) bool {
		ok = x.Type == gjson.Number
		return ok
	})
	return ok
}
