package sim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The official AWS SDK's InvokeModel gets embeddings from the simulator's
// Titan and Cohere embedding models.

const (
	titanV2Model  = "amazon.titan-embed-text-v2:0"
	titanV1Model  = "amazon.titan-embed-text-v1"
	cohereV3Model = "cohere.embed-english-v3"
	cohereV4Model = "cohere.embed-v4:0"
	flakyEmbed    = "cohere.embed-multilingual-v3"
)

// embedInvokeConfig serves the embedding models of these tests and a chat
// model.
func embedInvokeConfig() Config {
	return Config{Models: []Model{
		{Name: titanV2Model, EmbeddingDims: 16, ContextWindow: 64, Latency: 2 * time.Millisecond},
		{Name: titanV1Model, EmbeddingDims: 8},
		{Name: cohereV3Model, EmbeddingDims: 12, ContextWindow: 64},
		{Name: cohereV4Model, EmbeddingDims: 8, EmbedWords: true},
		{Name: flakyEmbed, Faults: []Fault{{Type: FaultStatus, Status: 503, Times: 1}}},
		testModel("m"),
	}}
}

// invoked is an InvokeModel answer.
type invoked struct {
	out    *bedrockruntime.InvokeModelOutput
	header http.Header
}

// invokeJSON sends body as an InvokeModel of model.
func invokeJSON(ctx context.Context, t *testing.T, br *bedrockruntime.Client, model string, body any, opts ...func(*bedrockruntime.Options)) (invoked, error) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	out, err := br.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
		ModelId: aws.String(model), Body: b,
		ContentType: aws.String("application/json"), Accept: aws.String("application/json"),
	}, opts...)
	if err != nil {
		return invoked{}, err
	}
	raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response)
	if !ok {
		t.Fatal("no raw response in the result metadata")
	}
	return invoked{out: out, header: raw.Header}, nil
}

// mustInvoke is invokeJSON that must succeed, with the answer decoded into v.
func mustInvoke(ctx context.Context, t *testing.T, br *bedrockruntime.Client, model string, body, v any) http.Header {
	t.Helper()
	r, err := invokeJSON(ctx, t, br, model, body)
	if err != nil {
		t.Fatalf("InvokeModel %s: %v", model, err)
	}
	if ct := aws.ToString(r.out.ContentType); ct != "application/json" {
		t.Errorf("got content type %q, want application/json", ct)
	}
	if err := json.Unmarshal(r.out.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.out.Body, err)
	}
	return r.header
}

// tokenHeader is the answer's input token count header.
func tokenHeader(t *testing.T, h http.Header) int {
	t.Helper()
	n, err := strconv.Atoi(h.Get("X-Amzn-Bedrock-Input-Token-Count"))
	if err != nil {
		t.Fatalf("X-Amzn-Bedrock-Input-Token-Count: %v", err)
	}
	return n
}

// unsigned sends the SDK's requests without their credentials: the
// Authorization header its signer added.
type unsigned struct{ next sdkHTTP }

// Do sends r without its Authorization header.
func (u unsigned) Do(r *http.Request) (*http.Response, error) {
	r.Header.Del("Authorization")
	return u.next.Do(r)
}

// titanAnswer is a Titan Text Embeddings answer.
type titanAnswer struct {
	Embedding           []float32                  `json:"embedding"`
	InputTextTokenCount int                        `json:"inputTextTokenCount"`
	EmbeddingsByType    map[string]json.RawMessage `json:"embeddingsByType"`
}

// wantStatus checks err is an SDK error of HTTP status code and of the
// service error code, with message in its message.
func wantStatus(t *testing.T, err error, status int, code, message string) {
	t.Helper()
	var api smithy.APIError
	var re *awshttp.ResponseError
	switch {
	case !errors.As(err, &api) || !errors.As(err, &re):
		t.Errorf("got %v, want a %s API error", err, code)
	case re.HTTPStatusCode() != status || api.ErrorCode() != code || !strings.Contains(api.ErrorMessage(), message):
		t.Errorf("got %d %s %q, want %d %s with %q", re.HTTPStatusCode(), api.ErrorCode(), api.ErrorMessage(), status, code, message)
	}
}

func TestBedrockInvokeTitan(t *testing.T) {
	s, br, url, c := bedrockClient(t, embedInvokeConfig())
	ctx := withTimeout(t)
	const text = "The quick brown fox."
	var a titanAnswer
	h := mustInvoke(ctx, t, br, titanV2Model, map[string]any{"inputText": text}, &a)
	if want := embed(titanV2Model, text, 16); !slices.Equal(a.Embedding, want) {
		t.Errorf("got embedding %v, want %v", a.Embedding, want)
	}
	if want := estimateTokens(len(text)); a.InputTextTokenCount != want || tokenHeader(t, h) != want {
		t.Errorf("got inputTextTokenCount %d and header %q, want %d", a.InputTextTokenCount, h.Get("X-Amzn-Bedrock-Input-Token-Count"), want)
	}
	var byFloat []float32
	if err := json.Unmarshal(a.EmbeddingsByType["float"], &byFloat); err != nil || len(a.EmbeddingsByType) != 1 || !slices.Equal(byFloat, a.Embedding) {
		t.Errorf("got embeddingsByType %v (%v), want only float, the embedding", a.EmbeddingsByType, err)
	}
	if ms, err := strconv.Atoi(h.Get("X-Amzn-Bedrock-Invocation-Latency")); err != nil || ms < 2 {
		t.Errorf("got X-Amzn-Bedrock-Invocation-Latency %q, want at least the model's 2ms", h.Get("X-Amzn-Bedrock-Invocation-Latency"))
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(h.Get("X-Amzn-Requestid")) {
		t.Errorf("got x-amzn-RequestId %q, want a UUID", h.Get("X-Amzn-Requestid"))
	}

	t.Run("deterministic", func(t *testing.T) {
		var again titanAnswer
		mustInvoke(ctx, t, br, titanV2Model, map[string]any{"inputText": text}, &again)
		if !slices.Equal(again.Embedding, a.Embedding) {
			t.Errorf("got %v, want the same vector %v", again.Embedding, a.Embedding)
		}
		// The OpenAI endpoint embeds the same text of a model of the same name alike.
		var oa struct {
			Data []struct {
				Embedding []float32 `json:"embedding"`
			} `json:"data"`
		}
		resp := post(t, ctx, c, url+"/v1/embeddings", map[string]any{"model": titanV2Model, "input": text})
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&oa); err != nil || len(oa.Data) != 1 || !slices.Equal(oa.Data[0].Embedding, a.Embedding) {
			t.Errorf("got OpenAI embeddings %+v (%v), want %v", oa, err, a.Embedding)
		}
		var other titanAnswer
		mustInvoke(ctx, t, br, titanV2Model, map[string]any{"inputText": text + " "}, &other)
		if slices.Equal(other.Embedding, a.Embedding) {
			t.Error("got the same vector for another text")
		}
	})

	t.Run("dimensions", func(t *testing.T) {
		for _, dims := range []int{256, 512, 1024} {
			var d titanAnswer
			mustInvoke(ctx, t, br, titanV2Model, map[string]any{"inputText": text, "dimensions": dims, "normalize": true}, &d)
			if want := embed(titanV2Model, text, dims); !slices.Equal(d.Embedding, want) {
				t.Errorf("dimensions %d: got %d values, want embed(name, text, %d)", dims, len(d.Embedding), dims)
			}
		}
	})

	t.Run("binary", func(t *testing.T) {
		var b titanAnswer
		mustInvoke(ctx, t, br, titanV2Model, map[string]any{"inputText": text, "embeddingTypes": []string{"float", "binary"}}, &b)
		var bits []int
		if err := json.Unmarshal(b.EmbeddingsByType["binary"], &bits); err != nil || len(bits) != len(b.Embedding) {
			t.Fatalf("got binary %s (%v), want %d values", b.EmbeddingsByType["binary"], err, len(b.Embedding))
		}
		for i, x := range b.Embedding {
			if want := map[bool]int{true: 1, false: 0}[x > 0]; bits[i] != want {
				t.Errorf("got bit %d = %d for %v, want %d", i, bits[i], x, want)
			}
		}
		if _, ok := b.EmbeddingsByType["float"]; !ok {
			t.Error("got no float embeddings by type")
		}
	})

	t.Run("v1", func(t *testing.T) {
		var v1 titanAnswer
		h := mustInvoke(ctx, t, br, titanV1Model, map[string]any{"inputText": text}, &v1)
		if want := embed(titanV1Model, text, 8); !slices.Equal(v1.Embedding, want) || v1.EmbeddingsByType != nil || tokenHeader(t, h) != v1.InputTextTokenCount {
			t.Errorf("got %+v, want the 8-value vector, no embeddingsByType, the token count in the header", v1)
		}
	})

	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct {
			name, model string
			body        any
			want        string
		}{
			{"missing inputText", titanV2Model, map[string]any{"dimensions": 256},
				"Malformed input request: #: required key [inputText] not found, please reformat your input and try again."},
			{"extraneous key", titanV2Model, map[string]any{"inputText": text, "model": "x"},
				"Malformed input request: extraneous key [model] is not permitted, please reformat your input and try again."},
			{"v1 dimensions", titanV1Model, map[string]any{"inputText": text, "dimensions": 256}, "extraneous key [dimensions] is not permitted"},
			{"v1 normalize", titanV1Model, map[string]any{"inputText": text, "normalize": true}, "extraneous key [normalize] is not permitted"},
			{"bad dimensions", titanV2Model, map[string]any{"inputText": text, "dimensions": 300}, "#/dimensions: 300 is not a valid enum value"},
			{"empty inputText", titanV2Model, map[string]any{"inputText": ""}, "#/inputText: expected minLength: 1"},
			{"inputText not a string", titanV2Model, map[string]any{"inputText": 5}, "#/inputText: expected type: String, found: Number"},
			{"bad embedding type", titanV2Model, map[string]any{"inputText": text, "embeddingTypes": []string{"int8"}}, "#/embeddingTypes/0: int8 is not a valid enum value"},
			{"not an object", titanV2Model, []string{text}, "expected type: JSONObject, found: JSONArray"},
			{"not an embedding model", "m", map[string]any{"inputText": text}, "not an embedding model"},
			{"too long", titanV2Model, map[string]any{"inputText": strings.Repeat("x", 4*64+1)}, "Input is too long for requested model."},
		} {
			t.Run(tt.name, func(t *testing.T) { wantRefused(ctx, t, br, tt.model, tt.body, tt.want) })
		}
	})

	t.Run("unknown model", func(t *testing.T) {
		_, err := invokeJSON(ctx, t, br, "amazon.titan-embed-text-v9", map[string]any{"inputText": text})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("got %v, want a ResourceNotFoundException", err)
		}
		wantStatus(t, err, http.StatusNotFound, "ResourceNotFoundException", "The provided model identifier is invalid.")
	})

	t.Run("no credentials", func(t *testing.T) {
		_, err := invokeJSON(ctx, t, br, titanV2Model, map[string]any{"inputText": text}, func(o *bedrockruntime.Options) {
			o.HTTPClient = unsigned{sdkHTTP{c: c}}
		})
		wantStatus(t, err, http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
	})

	t.Run("faults", func(t *testing.T) {
		_, err := invokeJSON(ctx, t, br, titanV2Model, map[string]any{"inputText": text}, withFault(c, "status;status=429;retry_after=1s"))
		var th *types.ThrottlingException
		if !errors.As(err, &th) {
			t.Errorf("got %v, want a ThrottlingException", err)
		}
		calls := s.Calls(titanV2Model)
		if last := calls[len(calls)-1]; last.Fault != FaultStatus || last.Status != http.StatusTooManyRequests {
			t.Errorf("got last call %+v, want the status fault's 429", last)
		}
		_, err = invokeJSON(ctx, t, br, titanV2Model, map[string]any{"inputText": text}, withFault(c, "context_length"))
		wantStatus(t, err, http.StatusBadRequest, "ValidationException", "Input is too long for requested model.")
		_, err = invokeJSON(ctx, t, br, titanV2Model, map[string]any{"inputText": text}, withFault(c, "stall"))
		if err != nil {
			t.Errorf("a mid-stream fault: got %v, want an answer", err)
		}
	})

	for _, call := range s.Calls(titanV2Model) {
		if call.Path == "/v1/embeddings" {
			continue
		}
		if call.Path != "/model/"+titanV2Model+"/invoke" || call.Stream || call.Status == 0 {
			t.Errorf("got call %+v, want a recorded non-stream invoke with a status", call)
		}
	}
	if n := len(s.Calls("amazon.titan-embed-text-v9")); n != 1 {
		t.Errorf("got %d calls of the unknown model, want 1", n)
	}
}

// cohereAnswer is a Cohere Embed answer; Embeddings is a list of vectors
// or a map from type to vectors.
type cohereAnswer struct {
	ID           string          `json:"id"`
	Embeddings   json.RawMessage `json:"embeddings"`
	ResponseType string          `json:"response_type"`
	Texts        []string        `json:"texts"`
}

func TestBedrockInvokeCohere(t *testing.T) {
	s, br, _, c := bedrockClient(t, embedInvokeConfig())
	ctx := withTimeout(t)
	texts := []string{"Hello there.", "General Kenobi!"}

	t.Run("floats", func(t *testing.T) {
		var a cohereAnswer
		h := mustInvoke(ctx, t, br, cohereV3Model, map[string]any{"texts": texts, "input_type": "search_document", "truncate": "END"}, &a)
		var vecs [][]float32
		if err := json.Unmarshal(a.Embeddings, &vecs); err != nil || len(vecs) != 2 {
			t.Fatalf("got embeddings %s (%v), want two vectors", a.Embeddings, err)
		}
		for i, text := range texts {
			if want := embed(cohereV3Model, text, 12); !slices.Equal(vecs[i], want) {
				t.Errorf("text %d: got %v, want %v", i, vecs[i], want)
			}
		}
		if a.ResponseType != "embeddings_floats" || !slices.Equal(a.Texts, texts) || a.ID == "" {
			t.Errorf("got %+v, want embeddings_floats, the texts and an id", a)
		}
		if want := estimateTokens(len(texts[0])) + estimateTokens(len(texts[1])); tokenHeader(t, h) != want {
			t.Errorf("got %d input tokens, want %d", tokenHeader(t, h), want)
		}
		var again cohereAnswer
		mustInvoke(ctx, t, br, cohereV3Model, map[string]any{"texts": texts[1:], "input_type": "search_query"}, &again)
		var vecs2 [][]float32
		if err := json.Unmarshal(again.Embeddings, &vecs2); err != nil || len(vecs2) != 1 || !slices.Equal(vecs2[0], vecs[1]) || again.ID == a.ID {
			t.Errorf("got %v and id %q, want the same vector %v and another id", vecs2, again.ID, vecs[1])
		}
	})

	t.Run("by type", func(t *testing.T) {
		var a cohereAnswer
		body := map[string]any{
			"texts": texts, "input_type": "classification", "embedding_types": []string{"float", "int8", "ubinary"},
			"output_dimension": 256, "truncate": "RIGHT", "max_tokens": 1000,
		}
		h := mustInvoke(ctx, t, br, cohereV4Model, body, &a)
		var byType struct {
			Float   [][]float32 `json:"float"`
			Int8    [][]int     `json:"int8"`
			Ubinary [][]int     `json:"ubinary"`
		}
		if err := json.Unmarshal(a.Embeddings, &byType); err != nil || a.ResponseType != "embeddings_by_type" || len(byType.Float) != 2 {
			t.Fatalf("got %s %s (%v), want embeddings_by_type with two float vectors", a.ResponseType, a.Embeddings, err)
		}
		for i, text := range texts {
			if want := embedWords(cohereV4Model, text, 256); !slices.Equal(byType.Float[i], want) {
				t.Errorf("text %d: got %d floats, want the 256 of embedWords", i, len(byType.Float[i]))
			}
		}
		if len(byType.Int8) != 2 || len(byType.Int8[0]) != 256 || len(byType.Ubinary) != 2 || len(byType.Ubinary[0]) != 32 {
			t.Errorf("got int8 %d and ubinary %d vectors, want 2 of 256 and 2 of 32", len(byType.Int8), len(byType.Ubinary))
		}
		if tokenHeader(t, h) <= 0 {
			t.Error("got no input tokens")
		}
	})

	t.Run("96 texts", func(t *testing.T) {
		var a cohereAnswer
		many := slices.Repeat([]string{"x"}, 96)
		h := mustInvoke(ctx, t, br, cohereV3Model, map[string]any{"texts": many, "input_type": "clustering"}, &a)
		var vecs [][]float32
		if err := json.Unmarshal(a.Embeddings, &vecs); err != nil || len(vecs) != 96 || tokenHeader(t, h) != 96 {
			t.Errorf("got %d vectors (%v) and %d tokens, want 96 of each", len(vecs), err, tokenHeader(t, h))
		}
	})

	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct {
			name, model string
			body        any
			want        string
		}{
			{"97 texts", cohereV3Model, map[string]any{"texts": slices.Repeat([]string{"x"}, 97), "input_type": "search_query"},
				"#/texts: expected maximum item count: 96, found: 97"},
			{"no texts", cohereV3Model, map[string]any{"texts": []string{}, "input_type": "search_query"}, "#/texts: expected minimum item count: 1, found: 0"},
			{"missing texts", cohereV3Model, map[string]any{"input_type": "search_query"}, "#: required key [texts] not found"},
			{"missing input_type", cohereV3Model, map[string]any{"texts": texts},
				"Malformed input request: #: required key [input_type] not found, please reformat your input and try again."},
			{"bad input_type", cohereV4Model, map[string]any{"texts": texts, "input_type": "image"}, "#/input_type: image is not a valid enum value"},
			{"extraneous key", cohereV3Model, map[string]any{"texts": texts, "input_type": "search_query", "inputText": "x"}, "extraneous key [inputText] is not permitted"},
			{"v3 output_dimension", cohereV3Model, map[string]any{"texts": texts, "input_type": "search_query", "output_dimension": 256}, "extraneous key [output_dimension] is not permitted"},
			{"v3 truncate LEFT", cohereV3Model, map[string]any{"texts": texts, "input_type": "search_query", "truncate": "LEFT"}, "#/truncate: LEFT is not a valid enum value"},
			{"v4 truncate END", cohereV4Model, map[string]any{"texts": texts, "input_type": "search_query", "truncate": "END"}, "#/truncate: END is not a valid enum value"},
			{"bad output_dimension", cohereV4Model, map[string]any{"texts": texts, "input_type": "search_query", "output_dimension": 100}, "#/output_dimension: 100 is not a valid enum value"},
			{"bad embedding type", cohereV4Model, map[string]any{"texts": texts, "input_type": "search_query", "embedding_types": []string{"double"}}, "#/embedding_types/0: double is not a valid enum value"},
			{"texts and images", cohereV4Model, map[string]any{"texts": texts, "images": []string{"data:image/png;base64,AA=="}, "input_type": "search_query"}, "only one of [texts, images, inputs]"},
			{"text too long", cohereV3Model, map[string]any{"texts": []string{"ok", strings.Repeat("x", 4*64+1)}, "input_type": "search_query"}, "Input is too long for requested model."},
			{"titan body", cohereV3Model, map[string]any{"inputText": "x"}, "extraneous key [inputText] is not permitted"},
		} {
			t.Run(tt.name, func(t *testing.T) { wantRefused(ctx, t, br, tt.model, tt.body, tt.want) })
		}
	})

	t.Run("images", func(t *testing.T) {
		var a cohereAnswer
		const img = "data:image/png;base64,iVBORw0KGgo="
		h := mustInvoke(ctx, t, br, cohereV4Model, map[string]any{"images": []string{img}, "input_type": "search_document"}, &a)
		var vecs [][]float32
		if err := json.Unmarshal(a.Embeddings, &vecs); err != nil || len(vecs) != 1 || !slices.Equal(vecs[0], embed(cohereV4Model, img, 8)) || tokenHeader(t, h) != imageTokens {
			t.Errorf("got %s (%v), %d tokens, want the image's vector and %d tokens", a.Embeddings, err, tokenHeader(t, h), imageTokens)
		}
	})

	t.Run("config fault", func(t *testing.T) {
		body := map[string]any{"texts": texts, "input_type": "search_query"}
		_, err := invokeJSON(ctx, t, br, flakyEmbed, body)
		var su *types.ServiceUnavailableException
		if !errors.As(err, &su) {
			t.Errorf("first call: got %v, want a ServiceUnavailableException", err)
		}
		if _, err := invokeJSON(ctx, t, br, flakyEmbed, body); err != nil {
			t.Errorf("second call: got %v, want an answer", err)
		}
		calls := s.Calls(flakyEmbed)
		if len(calls) != 2 || calls[0].Status != 503 || calls[0].Fault != FaultStatus || calls[1].Status != 200 || calls[1].Fault != "" {
			t.Errorf("got calls %+v, want a faulted 503 then a 200", calls)
		}
	})

	t.Run("injected fault", func(t *testing.T) {
		_, err := invokeJSON(ctx, t, br, cohereV3Model, map[string]any{"texts": texts, "input_type": "search_query"}, withFault(c, "status;status=500"))
		var ie *types.InternalServerException
		if !errors.As(err, &ie) {
			t.Errorf("got %v, want an InternalServerException", err)
		}
	})
}

// TestBedrockInvokeWire checks what the SDK does not show: the headers of
// an answer to an API key and of a refusal.
func TestBedrockInvokeWire(t *testing.T) {
	_, url, c := startSim(t, embedInvokeConfig())
	ctx := withTimeout(t)
	body := map[string]any{"inputText": "hi"}
	for _, tt := range []struct {
		name, model, auth string
		body              any
		status            int
		typ, want         string
	}{
		{"api key", titanV2Model, "Bearer key", body, 200, "", `"inputTextTokenCount":1`},
		{"no credentials", titanV2Model, "", body, 403, "UnrecognizedClientException", "security token"},
		{"undecodable", titanV2Model, "Bearer key", []byte(`{"inputText":`), 400, "ValidationException", "Malformed input request"},
		{"chat model", "m", "Bearer key", body, 400, "ValidationException", "not an embedding model"},
		{"unknown model", "nope", "Bearer key", body, 404, "ResourceNotFoundException", "model identifier is invalid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.auth != "" {
				headers = []string{"Authorization", tt.auth}
			}
			resp := post(t, ctx, c, url+"/model/"+tt.model+"/invoke", tt.body, headers...)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("X-Amzn-ErrorType") != tt.typ || !strings.Contains(string(b), tt.want) {
				t.Errorf("got %d %q %s, want %d %q with %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b, tt.status, tt.typ, tt.want)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("got headers %v, want x-amzn-RequestId and Content-Type application/json", resp.Header)
			}
			if ok := resp.Header.Get("X-Amzn-Bedrock-Input-Token-Count") != ""; ok != (tt.status == 200) {
				t.Errorf("got token count header %q on a %d", resp.Header.Get("X-Amzn-Bedrock-Input-Token-Count"), resp.StatusCode)
			}
		})
	}
}

// wantRefused checks that invoking model with body is a 400
// ValidationException whose message holds want.
func wantRefused(ctx context.Context, t *testing.T, br *bedrockruntime.Client, model string, body any, want string) {
	t.Helper()
	_, err := invokeJSON(ctx, t, br, model, body)
	var ve *types.ValidationException
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a ValidationException", err)
	}
	wantStatus(t, err, http.StatusBadRequest, "ValidationException", want)
}
